//! SSIM (Wang et al. 2004) on luma: 11×11 Gaussian window (σ 1.5), the usual
//! constants for 8-bit samples. The reference's local means and variances are
//! computed once and reused for every candidate encoding.

use image::RgbImage;

const C1: f32 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f32 = (0.03 * 255.0) * (0.03 * 255.0);

/// An image's luma plane (BT.601), as f32.
pub struct Luma {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Luma {
    pub fn of(img: &RgbImage) -> Self {
        let v = img
            .pixels()
            .map(|p| {
                let [r, g, b] = p.0.map(f32::from);
                0.299 * r + 0.587 * g + 0.114 * b
            })
            .collect();
        Self {
            w: img.width() as usize,
            h: img.height() as usize,
            v,
        }
    }
}

/// The reference image with its blurred moments.
pub struct Reference {
    luma: Luma,
    mu: Vec<f32>,
    var: Vec<f32>,
}

/// Mean SSIM over a rectangle `(x0, y0, x1, y1)` of pixels (end exclusive).
pub type Rect = (usize, usize, usize, usize);

impl Reference {
    pub fn new(img: &RgbImage) -> Self {
        let luma = Luma::of(img);
        let mu = blur(&luma.v, luma.w, luma.h);
        let sq: Vec<f32> = luma.v.iter().map(|x| x * x).collect();
        let var = blur(&sq, luma.w, luma.h)
            .iter()
            .zip(&mu)
            .map(|(s, m)| s - m * m)
            .collect();
        Self { luma, mu, var }
    }

    /// Mean SSIM of `other` over the whole image and over `region`.
    pub fn ssim(&self, other: &RgbImage, region: Rect) -> (f64, f64) {
        let y = Luma::of(other);
        assert_eq!((y.w, y.h), (self.luma.w, self.luma.h), "sizes differ");
        let (w, h) = (y.w, y.h);
        let mu_y = blur(&y.v, w, h);
        let sq: Vec<f32> = y.v.iter().map(|v| v * v).collect();
        let xy: Vec<f32> = y.v.iter().zip(&self.luma.v).map(|(a, b)| a * b).collect();
        let e_yy = blur(&sq, w, h);
        let e_xy = blur(&xy, w, h);
        let (mut all, mut inside, mut n_inside) = (0.0f64, 0.0f64, 0usize);
        for i in 0..w * h {
            let (mx, my) = (self.mu[i], mu_y[i]);
            let var_y = e_yy[i] - my * my;
            let cov = e_xy[i] - mx * my;
            let s = ((2.0 * mx * my + C1) * (2.0 * cov + C2))
                / ((mx * mx + my * my + C1) * (self.var[i] + var_y + C2));
            let s = f64::from(s);
            all += s;
            let (x, yy) = (i % w, i / w);
            if (region.0..region.2).contains(&x) && (region.1..region.3).contains(&yy) {
                inside += s;
                n_inside += 1;
            }
        }
        (all / (w * h) as f64, inside / n_inside.max(1) as f64)
    }
}

/// Separable Gaussian blur, σ 1.5, 11 taps, edges clamped.
fn blur(v: &[f32], w: usize, h: usize) -> Vec<f32> {
    const R: usize = 5;
    let mut k = [0f32; 2 * R + 1];
    for (i, t) in k.iter_mut().enumerate() {
        let d = i as f32 - R as f32;
        *t = (-d * d / (2.0 * 1.5 * 1.5)).exp();
    }
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|t| *t /= sum);

    let mut rows = vec![0f32; w * h];
    for y in 0..h {
        let line = &v[y * w..(y + 1) * w];
        for x in 0..w {
            let mut acc = 0.0;
            for (j, t) in k.iter().enumerate() {
                let xx = (x + j).saturating_sub(R).min(w - 1);
                acc += t * line[xx];
            }
            rows[y * w + x] = acc;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for (j, t) in k.iter().enumerate() {
            let yy = (y + j).saturating_sub(R).min(h - 1);
            let src = &rows[yy * w..(yy + 1) * w];
            for (o, s) in out[y * w..(y + 1) * w].iter_mut().zip(src) {
                *o += t * s;
            }
        }
    }
    out
}
