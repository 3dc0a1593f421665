//! The app's database key comes from the OS secret store, or from the
//! owner-only key file where there is none (CI and most containers have no
//! session bus); a device database from before encryption opens through the
//! app encrypted, with nothing lost.
#![allow(clippy::unwrap_used)]

use cdht_app::{database_key, App};
use cdht_store::{DatabaseFile, KeyFile, KeyStore, DB_FILE_NAME};
use std::path::Path;

/// Cleans up an OS keyring entry a test made (on a desktop that has a keyring).
struct ForgetKeyringEntry<'a>(&'a Path);

impl Drop for ForgetKeyringEntry<'_> {
    fn drop(&mut self) {
        #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
        let _ = cdht_app::OsKeyring::for_data_dir(self.0).delete();
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn the_key_is_kept_by_the_os_keyring_or_else_by_an_owner_only_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let _forget = ForgetKeyringEntry(dir.path());
    let first = database_key(dir.path()).unwrap();
    assert!(first.created);
    drop(App::open(dir.path(), &first.key).unwrap());

    let again = database_key(dir.path()).unwrap();
    assert!(!again.created);
    assert_eq!(again.key, first.key);
    assert_eq!(again.kept_by, first.kept_by);
    let key_file = KeyFile::in_data_dir(dir.path());
    if first.kept_by.starts_with("OS keyring") {
        assert!(!key_file.path().exists(), "the key is not also on disk");
    } else {
        // No usable keyring here: the fallback, and why.
        assert_eq!(first.kept_by, key_file.describe());
        #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
        assert!(first.platform_error.is_some(), "{first:?}");
        assert_eq!(key_file.load().unwrap(), Some(first.key.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    assert!(App::open(dir.path(), &again.key).is_ok());
    assert_eq!(
        DatabaseFile::of_data_dir(dir.path()).unwrap(),
        DatabaseFile::Encrypted
    );
}

#[test]
fn a_device_database_from_before_encryption_opens_in_the_app_encrypted_with_nothing_lost() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/plain-schema-6");
    let dir = tempfile::tempdir().unwrap();
    let _forget = ForgetKeyringEntry(dir.path());
    copy_tree(&fixture, dir.path());
    assert_eq!(
        DatabaseFile::of_data_dir(dir.path()).unwrap(),
        DatabaseFile::Plain
    );

    // What the app does on start: the key, then the data.
    let chosen = database_key(dir.path()).unwrap();
    assert!(chosen.created, "a plain database has no key yet");
    let app = App::open(dir.path(), &chosen.key).unwrap();
    let people = app.list_people(50, 0).unwrap();
    let mut names: Vec<&str> = people.iter().map(|p| p.full_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Nguyễn Văn An", "Trần Thị Bình"]);
    let mut cccds: Vec<String> = people
        .iter()
        .map(|p| app.store().person_cccd(p.person_id).unwrap().unwrap())
        .collect();
    cccds.sort();
    assert_eq!(cccds, ["001085012345", "036190004321"]);
    let history = app.history(people[0].person_id).unwrap();
    assert_eq!(history.entries.len(), 1);
    drop(app);

    for suffix in ["", "-wal"] {
        let path = dir.path().join(format!("{DB_FILE_NAME}{suffix}"));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        assert!(!bytes.starts_with(b"SQLite format 3"), "{}", path.display());
        for cccd in ["001085012345", "036190004321"] {
            assert!(
                !bytes.windows(12).any(|w| w == cccd.as_bytes()),
                "{cccd} in clear in {}",
                path.display()
            );
        }
    }
    // The next start finds the same key and opens without converting again.
    let again = database_key(dir.path()).unwrap();
    assert_eq!(again.key, chosen.key);
    assert!(App::open(dir.path(), &again.key).is_ok());
}
