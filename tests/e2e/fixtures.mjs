// Test inputs made on the fly: QR images of unit payloads and JPEG "photos".
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import QRCode from "qrcode";

export async function qrPng(file, text) {
  await QRCode.toFile(file, text, { type: "png", width: 600, margin: 4, errorCorrectionLevel: "M" });
  return file;
}

/** A JPEG like a phone photo of a certificate, made by ImageMagick. */
export function photoJpeg(file, { width = 1600, height = 1200, label = "Giấy chứng nhận", color = "#d9c99a" } = {}) {
  execFileSync("convert", [
    "-size", `${width}x${height}`, `xc:${color}`,
    "-fill", "#7a1010", "-draw", `rectangle 60,60 ${width - 60},${height - 60}`,
    "-fill", color, "-draw", `rectangle 80,80 ${width - 80},${height - 80}`,
    "-font", "DejaVu-Sans", "-fill", "#222", "-pointsize", String(Math.round(height / 10)), "-gravity", "center",
    "-annotate", "0", label.normalize("NFC"),
    "-quality", "92", file,
  ]);
  return file;
}

/** A picture with no QR code at all. */
export function plainPng(file) {
  execFileSync("convert", ["-size", "400x300", "gradient:#88aaff-#ffffff", file]);
  return file;
}

/** A QR image with a bite taken out of it (a torn or smudged poster). */
export function damagedQr(source, file) {
  execFileSync("convert", [source, "-fill", "white", "-draw", "rectangle 150,200 460,420", file]);
  return file;
}

export function freshDir(root, name) {
  const dir = path.join(root, `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
