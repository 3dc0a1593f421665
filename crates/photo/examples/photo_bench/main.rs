//! Photo pipeline benchmark: our pipeline against ImageMagick and
//! vipsthumbnail on the same files, and the encoders compared at equal quality.
//!
//! ```text
//! cargo run --release -p cdht-photo --example photo_bench [-- N_PHOTOS [RUNS] [--keep]]
//! ```
//!
//! Generates N (default 4) 12-megapixel phone-like JPEGs (EXIF Orientation=6,
//! GPS, Make/Model), runs `cdht_photo::process_photo` with default options on
//! each, then ImageMagick with the equivalent command
//! `convert in.jpg -auto-orient -resize 1600x1600> -strip -quality 82 out.jpg`.
//! Prints ms per photo (best of RUNS, default 3) and output bytes for both and
//! the ratios. The bench also runs ImageMagick once at the quality we ended at
//! ("IM@q"; mozjpeg's quality scale is not ImageMagick's, so this is only a
//! rough size reference). ImageMagick's time includes starting the process and
//! file I/O (a few ms); ours starts from bytes in memory.
//!
//! Then `vipsthumbnail in.jpg -s 1600x1600 -o out.jpg[Q=82,strip]` on the same
//! files: the time goal's reference (issue 14, item 3: ≤ 1.0× its time).
//!
//! Then the codecs (codecs.rs, compare.rs): the former pipeline's encoder
//! (jpeg-encoder), mozjpeg (the pipeline's now), libjpeg-turbo baseline and
//! WebP each encode the pipeline's 1600 px pixels; for each, the lowest quality
//! reaching the SSIM of the former pipeline's output (bytes at equal quality)
//! and the highest fitting 150 KB (SSIM there, and over the certificate's text).
//!
//! A reference tool that is missing is skipped with a message. `--keep` leaves
//! the files in the temp directory for inspection.
#![allow(clippy::unwrap_used)]

mod codecs;
mod compare;
mod ssim;

use cdht_test_support::photos;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn imagemagick() -> Option<PathBuf> {
    for cand in ["/usr/bin/convert", "convert"] {
        let ok = Command::new(cand).arg("-version").output().is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("ImageMagick")
        });
        if ok {
            return Some(PathBuf::from(cand));
        }
    }
    None
}

fn vipsthumbnail() -> Option<PathBuf> {
    let ok = Command::new("vipsthumbnail")
        .arg("--vips-version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("vipsthumbnail"))
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed());
        last = Some(out);
    }
    (best, last.unwrap())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep = args.iter().any(|a| a == "--keep");
    let nums: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let n = nums.first().copied().unwrap_or(4);
    let runs = nums.get(1).copied().unwrap_or(3);

    let dir = std::env::temp_dir().join("cdht-photo-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let convert = imagemagick();
    let opts = cdht_photo::PhotoOptions::default();

    println!(
        "photo_bench: {n} photos of {}x{} (EXIF orientation 6), best of {runs} runs, {} CPUs",
        photos::SENSOR_W,
        photos::SENSOR_H,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    match &convert {
        Some(c) => println!(
            "reference: {} -auto-orient -resize 1600x1600> -strip -quality 82",
            c.display()
        ),
        None => println!(
            "reference: SKIPPED, ImageMagick `convert` not found (apt-get install -y imagemagick)"
        ),
    }
    println!(
        "{:>5} {:>9} | {:>8} {:>8} {:>3} {:>9} | {:>8} {:>8} {:>9} | {:>6} {:>6} {:>6}",
        "photo",
        "in KB",
        "ours ms",
        "ours KB",
        "q",
        "WxH",
        "IM ms",
        "IM KB",
        "IM@q KB",
        "t/IM",
        "B/IM",
        "B/IM@q"
    );

    let (mut sum_ours_ms, mut sum_ours_b, mut sum_im_ms, mut sum_im_b) = (0.0, 0usize, 0.0, 0usize);
    let mut sum_im_same_q_b = 0usize;
    let mut largest_ours_b = 0usize;
    for i in 0..n {
        let input = photos::phone_photo(i as u32 + 1);
        let in_path = dir.join(format!("photo{i}.jpg"));
        std::fs::write(&in_path, &input).unwrap();

        let (t_ours, out) = best_of(runs, || cdht_photo::process_photo(&input, &opts).unwrap());
        std::fs::write(dir.join(format!("photo{i}.ours.jpg")), &out.jpeg).unwrap();
        sum_ours_ms += ms(t_ours);
        sum_ours_b += out.jpeg.len();
        largest_ours_b = largest_ours_b.max(out.jpeg.len());

        let im = convert.as_ref().map(|c| {
            let at_82 = run_im(c, &in_path, &dir.join(format!("photo{i}.im.jpg")), 82, runs);
            let same_q = dir.join(format!("photo{i}.im-q{}.jpg", out.quality));
            let (_, same_q_bytes) = run_im(c, &in_path, &same_q, out.quality, 1);
            (at_82, same_q_bytes)
        });
        let im_cols = match im {
            Some(((t, bytes), same_q_bytes)) => {
                sum_im_ms += ms(t);
                sum_im_b += bytes;
                sum_im_same_q_b += same_q_bytes;
                format!(
                    "{:>8.0} {:>8.1} {:>9.1} | {:>6.2} {:>6.2} {:>6.2}",
                    ms(t),
                    bytes as f64 / 1000.0,
                    same_q_bytes as f64 / 1000.0,
                    ms(t_ours) / ms(t),
                    out.jpeg.len() as f64 / bytes as f64,
                    out.jpeg.len() as f64 / same_q_bytes as f64
                )
            }
            None => "       -        -         - |      -      -      -".to_owned(),
        };
        println!(
            "{:>5} {:>9.1} | {:>8.0} {:>8.1} {:>3} {:>9} | {im_cols}",
            i,
            input.len() as f64 / 1000.0,
            ms(t_ours),
            out.jpeg.len() as f64 / 1000.0,
            out.quality,
            format!("{}x{}", out.width, out.height),
        );
    }
    let nf = n as f64;
    println!(
        "mean: ours {:.0} ms, {:.1} KB per photo",
        sum_ours_ms / nf,
        sum_ours_b as f64 / nf / 1000.0
    );
    println!(
        "goal <= {} KB per photo (issue 14, item 3): {} (largest {:.1} KB)",
        compare::GOAL_BYTES / 1000,
        if largest_ours_b <= compare::GOAL_BYTES {
            "met"
        } else {
            "NOT met"
        },
        largest_ours_b as f64 / 1000.0
    );
    if convert.is_some() {
        println!(
            "mean: ImageMagick {:.0} ms, {:.1} KB per photo; ratio ours/IM: time {:.2}, bytes {:.2}",
            sum_im_ms / nf,
            sum_im_b as f64 / nf / 1000.0,
            sum_ours_ms / sum_im_ms,
            sum_ours_b as f64 / sum_im_b as f64
        );
        println!(
            "mean: ImageMagick at our final quality {:.1} KB per photo; bytes ratio ours/IM@q {:.2}",
            sum_im_same_q_b as f64 / nf / 1000.0,
            sum_ours_b as f64 / sum_im_same_q_b as f64
        );
    }
    vips_section(&dir, n, runs, &opts);
    codec_section(n, runs, &opts);
    if keep {
        println!("files kept in {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

fn run_im(
    convert: &Path,
    input: &Path,
    output: &Path,
    quality: u8,
    runs: usize,
) -> (Duration, usize) {
    let quality = quality.to_string();
    let (t, ()) = best_of(runs, || {
        let status = Command::new(convert)
            .arg(input)
            .args([
                "-auto-orient",
                "-resize",
                "1600x1600>",
                "-strip",
                "-quality",
            ])
            .arg(&quality)
            .arg(output)
            .status()
            .unwrap();
        assert!(status.success(), "convert failed");
    });
    (t, std::fs::metadata(output).unwrap().len() as usize)
}

/// vipsthumbnail on the same files: the time goal's reference (issue 14,
/// item 3). Ours is timed again here, alternating run by run with vipsthumbnail
/// so that both see the same load; "prep" is decode+shrink+orient, the rest of
/// ours is the encode (quick size probes, then one mozjpeg encode).
fn vips_section(dir: &Path, n: usize, runs: usize, opts: &cdht_photo::PhotoOptions) {
    let fast = fast_options(opts);
    println!();
    let Some(vips) = vipsthumbnail() else {
        println!("vipsthumbnail: SKIPPED, not found (apt-get install -y libvips-tools)");
        return;
    };
    println!(
        "vipsthumbnail: in.jpg -s 1600x1600 -o out.jpg[Q=82,strip], alternating with ours, best of {runs} runs"
    );
    println!(
        "{:>5} | {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>7} | {:>8} {:>8} {:>7}",
        "photo",
        "vips ms",
        "vips KB",
        "ours ms",
        "prep ms",
        "enc ms",
        "t/vips",
        "fast ms",
        "fast KB",
        "t/vips"
    );
    let (mut sum_vips, mut sum_ours, mut sum_prep, mut sum_fast) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let input = dir.join(format!("photo{i}.jpg"));
        let bytes = std::fs::read(&input).unwrap();
        let output = dir.join(format!("photo{i}.vips.jpg"));
        let target = format!("{}[Q=82,strip]", output.display());
        let (mut t_vips, mut t_ours, mut t_prep) = (Duration::MAX, Duration::MAX, Duration::MAX);
        let (mut t_fast, mut fast_bytes) = (Duration::MAX, 0);
        for _ in 0..runs.max(1) {
            let (t, ()) = best_of(1, || {
                let status = Command::new(&vips)
                    .arg(&input)
                    .args(["-s", "1600x1600", "-o"])
                    .arg(&target)
                    .status()
                    .unwrap();
                assert!(status.success(), "vipsthumbnail failed");
            });
            t_vips = t_vips.min(t);
            let (t, _) = best_of(1, || cdht_photo::process_photo(&bytes, opts).unwrap());
            t_ours = t_ours.min(t);
            let (t, _) = best_of(1, || cdht_photo::prepare(&bytes, opts).unwrap());
            t_prep = t_prep.min(t);
            let (t, out) = best_of(1, || cdht_photo::process_photo(&bytes, &fast).unwrap());
            t_fast = t_fast.min(t);
            fast_bytes = out.jpeg.len();
        }
        sum_fast += ms(t_fast);
        sum_vips += ms(t_vips);
        sum_ours += ms(t_ours);
        sum_prep += ms(t_prep);
        let vips_bytes = std::fs::metadata(&output).unwrap().len();
        println!(
            "{i:>5} | {:>8.0} {:>8.1} | {:>8.0} {:>8.0} {:>8.0} | {:>7.2} | {:>8.0} {:>8.1} {:>7.2}",
            ms(t_vips),
            vips_bytes as f64 / 1000.0,
            ms(t_ours),
            ms(t_prep),
            ms(t_ours) - ms(t_prep),
            ms(t_ours) / ms(t_vips),
            ms(t_fast),
            fast_bytes as f64 / 1000.0,
            ms(t_fast) / ms(t_vips)
        );
    }
    let nf = n as f64;
    println!(
        "mean: vipsthumbnail {:.0} ms, ours {:.0} ms (decode+shrink+orient {:.0}, encode {:.0}) per photo; \
         ratio ours/vips: time {:.2}",
        sum_vips / nf,
        sum_ours / nf,
        sum_prep / nf,
        (sum_ours - sum_prep) / nf,
        sum_ours / sum_vips
    );
    println!(
        "mean: ours with Encoding::Fast (min quality 50) {:.0} ms per photo; ratio fast/vips: time {:.2}",
        sum_fast / nf,
        sum_fast / sum_vips
    );
    let verdict = |ratio: f64| if ratio <= 1.0 { "met" } else { "NOT met" };
    println!(
        "goal <= 1.0x vipsthumbnail's time (issue 14, item 3): default {} ({:.2}x: the trellis \
         encode alone is ~0.8x vipsthumbnail's run, BENCHMARKS.md \"Photo pipeline\"); \
         Encoding::Fast {} ({:.2}x)",
        verdict(sum_ours / sum_vips),
        sum_ours / sum_vips,
        verdict(sum_fast / sum_vips),
        sum_fast / sum_vips
    );
}

/// The pipeline with `Encoding::Fast`, at the floor that lets it fit.
fn fast_options(opts: &cdht_photo::PhotoOptions) -> cdht_photo::PhotoOptions {
    cdht_photo::PhotoOptions {
        encoding: cdht_photo::Encoding::Fast,
        min_quality: 50,
        ..opts.clone()
    }
}

/// The former encoder against mozjpeg and WebP at equal SSIM (compare.rs),
/// and where the pipeline's own output lands.
fn codec_section(n: usize, runs: usize, opts: &cdht_photo::PhotoOptions) {
    println!();
    println!(
        "codecs: bytes at the former pipeline's SSIM (luma, 11x11 Gaussian, against the \
         1600 px pixels before encoding) and at <= {} KB; cert = SSIM over the certificate",
        compare::GOAL_BYTES / 1000
    );
    compare::print_header();
    let mut rows = Vec::new();
    let fast = fast_options(opts);
    let (mut sum_former_b, mut sum_ours_b, mut sum_fast_b) = (0usize, 0usize, 0usize);
    let (mut former_ssim, mut ours_ssim, mut fast_ssim) = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0));
    for i in 0..n {
        let input = photos::phone_photo(i as u32 + 1);
        let img = cdht_photo::prepare(&input, opts).unwrap().pixels.to_rgb8();
        let reference = ssim::Reference::new(&img);
        let cert = compare::certificate_rect(img.width(), img.height());

        let (former, former_q) = codecs::former_pipeline(&img);
        let (s, s_cert) = reference.ssim(&codecs::decode(&former), cert);
        sum_former_b += former.len();
        former_ssim = (former_ssim.0 + s, former_ssim.1 + s_cert);
        println!(
            "{i:>5} former pipeline (jpeg-encoder, 200 KB budget): q {former_q} {:.1} KB SSIM {s:.4} cert {s_cert:.4}",
            former.len() as f64 / 1000.0
        );
        let ours = cdht_photo::process_photo(&input, opts).unwrap();
        let (o, o_cert) = reference.ssim(&codecs::decode(&ours.jpeg), cert);
        sum_ours_b += ours.jpeg.len();
        ours_ssim = (ours_ssim.0 + o, ours_ssim.1 + o_cert);
        println!(
            "{i:>5} this pipeline (mozjpeg, {} KB budget): q {} {:.1} KB SSIM {o:.4} cert {o_cert:.4}",
            opts.max_output_bytes / 1000,
            ours.quality,
            ours.jpeg.len() as f64 / 1000.0
        );
        let out = cdht_photo::process_photo(&input, &fast).unwrap();
        let (f, f_cert) = reference.ssim(&codecs::decode(&out.jpeg), cert);
        sum_fast_b += out.jpeg.len();
        fast_ssim = (fast_ssim.0 + f, fast_ssim.1 + f_cert);
        println!(
            "{i:>5} this pipeline, Encoding::Fast: q {} {:.1} KB SSIM {f:.4} cert {f_cert:.4}",
            out.quality,
            out.jpeg.len() as f64 / 1000.0
        );
        for row in compare::compare(&img, &reference, s, runs) {
            compare::print_row(i, &row);
            rows.push((i, row));
        }
    }
    let nf = n as f64;
    println!(
        "mean: former pipeline {:.1} KB, SSIM {:.4}, certificate SSIM {:.4}",
        sum_former_b as f64 / nf / 1000.0,
        former_ssim.0 / nf,
        former_ssim.1 / nf
    );
    println!(
        "mean: this pipeline {:.1} KB (bytes/former {:.2}), SSIM {:.4}, certificate SSIM {:.4}",
        sum_ours_b as f64 / nf / 1000.0,
        sum_ours_b as f64 / sum_former_b as f64,
        ours_ssim.0 / nf,
        ours_ssim.1 / nf
    );
    println!(
        "mean: this pipeline, Encoding::Fast {:.1} KB (bytes/former {:.2}), SSIM {:.4}, certificate SSIM {:.4}",
        sum_fast_b as f64 / nf / 1000.0,
        sum_fast_b as f64 / sum_former_b as f64,
        fast_ssim.0 / nf,
        fast_ssim.1 / nf
    );
    compare::print_means(&rows, sum_former_b);
}
