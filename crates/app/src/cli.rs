//! The desktop app's command line: `--help` and `--version` print and exit
//! before any window opens; `--data-dir` is read by [`crate::data_dir_override`].

/// What `cdht --help` prints.
pub const HELP: &str = "\
cdht: Công dân học tập (Learning Citizen), the offline self-assessment app

Usage: cdht [--data-dir DIR]

Options:
  --data-dir DIR   keep the app's data (database, photos, the window's own
                   storage) in DIR instead of the platform's app data folder;
                   also CDHT_DATA_DIR
  -h, --help       print this help and exit
  -V, --version    print the version and exit";

/// The text to print instead of starting the app, when the command line
/// asks for help or the version.
pub fn early_exit(args: impl IntoIterator<Item = String>, version: &str) -> Option<String> {
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Some(HELP.to_owned()),
            "-V" | "--version" => return Some(format!("cdht {version}")),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn help_and_version_exit_before_the_window() {
        let help = early_exit(args(&["--help"]), "0.1.0").unwrap();
        assert!(help.contains("--data-dir DIR") && help.contains("Usage: cdht"));
        assert_eq!(early_exit(args(&["-h"]), "0.1.0").unwrap(), help);
        assert_eq!(
            early_exit(args(&["--version"]), "0.1.0").unwrap(),
            "cdht 0.1.0"
        );
        assert_eq!(early_exit(args(&["--data-dir", "/tmp/x"]), "0.1.0"), None);
        assert_eq!(early_exit(args(&[]), "0.1.0"), None);
    }
}
