// The Rust commands (src-tauri → crates/app). Every failure is an object
// {kind, message, detail}: `message` is Vietnamese and shown as is.
import { invoke } from "@tauri-apps/api/core";

export async function call(command, args = {}) {
  try {
    return await invoke(command, args);
  } catch (err) {
    if (err && typeof err === "object" && "kind" in err) throw err;
    throw { kind: "internal", message: "Ứng dụng gặp lỗi. Bác hãy thử lại.", detail: String(err) };
  }
}

/** A picked File as a data: URL (base64), the way the commands take file bytes. */
export function readFileAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () =>
      reject({ kind: "file_unreadable", message: "Không đọc được tệp này. Bác hãy chọn lại.", detail: String(reader.error) });
    reader.readAsDataURL(file);
  });
}
