//! Where the database key comes from: the platform's store when it works, the
//! owner-only key file otherwise, and never a new key over an encrypted file.
//! The "platform" here is a real [`KeyFile`] kept elsewhere (the OS keyring is
//! exercised by cdht-app's tests), or one whose folder is a file, which fails
//! for real.
#![allow(clippy::unwrap_used)]

use cdht_store::{
    load_or_create_key, DatabaseKey, ErrorKind, KeyFile, KeyStore, Store, KEY_FILE_NAME,
};
use std::path::Path;

/// A key store that cannot work: its folder is a regular file.
fn broken_store(dir: &Path) -> KeyFile {
    let not_a_folder = dir.join("not-a-folder");
    std::fs::write(&not_a_folder, b"x").unwrap();
    KeyFile::in_data_dir(&not_a_folder)
}

#[test]
fn a_key_reads_back_from_hex_and_is_never_printed() {
    let key = DatabaseKey::generate().unwrap();
    let hex = key.to_hex();
    assert_eq!(hex.len(), 64);
    assert_eq!(DatabaseKey::from_hex(&hex), Some(key.clone()));
    assert_eq!(
        DatabaseKey::from_hex(&hex.to_uppercase()),
        Some(key.clone())
    );
    assert_eq!(DatabaseKey::from_hex(&hex[..63]), None);
    assert_eq!(DatabaseKey::from_hex(&format!("{}zz", &hex[..62])), None);
    assert_ne!(DatabaseKey::generate().unwrap(), key, "random, not fixed");
    assert!(!format!("{key:?}").contains(&hex[..8]));
}

#[test]
fn the_key_file_is_made_owner_only_and_read_again_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = load_or_create_key(dir.path(), None).unwrap();
    assert!(first.created);
    let file = dir.path().join(KEY_FILE_NAME);
    assert!(first.kept_by.contains(KEY_FILE_NAME), "{}", first.kept_by);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = load_or_create_key(dir.path(), None).unwrap();
    assert!(!again.created);
    assert_eq!(again.key, first.key);
    assert!(!dir.path().join(format!("{KEY_FILE_NAME}.new")).exists());
}

#[test]
fn a_working_platform_store_keeps_the_key_and_no_key_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let vault = tempfile::tempdir().unwrap();
    let platform = KeyFile::in_data_dir(vault.path());
    let chosen = load_or_create_key(dir.path(), Some(&platform)).unwrap();
    assert!(chosen.created);
    assert_eq!(chosen.kept_by, platform.describe());
    assert_eq!(chosen.platform_error, None);
    assert!(!dir.path().join(KEY_FILE_NAME).exists());
    assert_eq!(platform.load().unwrap(), Some(chosen.key.clone()));

    let store = Store::open(dir.path(), &chosen.key).unwrap();
    drop(store);
    let again = load_or_create_key(dir.path(), Some(&platform)).unwrap();
    assert!(!again.created);
    assert_eq!(again.key, chosen.key);
    assert!(Store::open(dir.path(), &again.key).is_ok());
}

#[test]
fn a_failing_platform_store_falls_back_to_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let platform = broken_store(scratch.path());
    let chosen = load_or_create_key(dir.path(), Some(&platform)).unwrap();
    assert!(chosen.created);
    assert!(chosen.platform_error.is_some());
    assert_eq!(
        KeyFile::in_data_dir(dir.path()).load().unwrap(),
        Some(chosen.key.clone())
    );
    drop(Store::open(dir.path(), &chosen.key).unwrap());
    // Once the key file holds the key it stays the source, even if the
    // platform store works later: the database was encrypted with this key.
    let vault = tempfile::tempdir().unwrap();
    let working = KeyFile::in_data_dir(vault.path());
    let again = load_or_create_key(dir.path(), Some(&working)).unwrap();
    assert_eq!(again.key, chosen.key);
    assert_eq!(working.load().unwrap(), None);
}

#[test]
fn no_new_key_is_made_over_an_encrypted_database() {
    let dir = tempfile::tempdir().unwrap();
    let vault = tempfile::tempdir().unwrap();
    let platform = KeyFile::in_data_dir(vault.path());
    let chosen = load_or_create_key(dir.path(), Some(&platform)).unwrap();
    drop(Store::open(dir.path(), &chosen.key).unwrap());
    let before = std::fs::read(dir.path().join(cdht_store::DB_FILE_NAME)).unwrap();

    // The platform store is unreachable today (locked keyring, no session bus).
    let scratch = tempfile::tempdir().unwrap();
    let err = load_or_create_key(dir.path(), Some(&broken_store(scratch.path()))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyUnavailable, "{err}");
    // The platform store lost the key, or there is none.
    let empty = tempfile::tempdir().unwrap();
    let err =
        load_or_create_key(dir.path(), Some(&KeyFile::in_data_dir(empty.path()))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyUnavailable, "{err}");
    let err = Store::open_with_key_file(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyUnavailable, "{err}");

    assert!(!dir.path().join(KEY_FILE_NAME).exists(), "no key was made");
    assert_eq!(
        std::fs::read(dir.path().join(cdht_store::DB_FILE_NAME)).unwrap(),
        before
    );
    // With the key back, everything opens.
    let back = load_or_create_key(dir.path(), Some(&platform)).unwrap();
    assert!(Store::open(dir.path(), &back.key).is_ok());
}

#[test]
fn a_damaged_key_file_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open_with_key_file(dir.path()).unwrap());
    let file = dir.path().join(KEY_FILE_NAME);
    std::fs::write(&file, b"not a key").unwrap();
    let err = Store::open_with_key_file(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyUnavailable, "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a key");
}
