//! moto's S3 server (PyPI, installed by `scripts/setup.sh` as
//! `cdht-moto-server`) on 127.0.0.1, for the tests that keep evidence in a
//! bucket.

use object_store::aws::AmazonS3Builder;
use object_store::ObjectStore;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket the tests use.
pub const BUCKET: &str = "cdht-evidence";

/// moto's S3 on 127.0.0.1, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("cdht-moto-server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cdht-moto-server (moto's S3 server) is missing: run scripts/setup.sh ({e})")
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The settings a server (or this test) reaches the bucket with; set
    /// here, never taken from the environment (which may name other S3s).
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "testing"),
            ("aws_secret_access_key", "testing"),
            ("aws_region", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The whole bucket, without the server's prefix.
    pub fn bucket(&self) -> impl ObjectStore {
        let mut builder = AmazonS3Builder::new().with_bucket_name(BUCKET);
        for (k, v) in self.options() {
            builder = builder.with_config(k.parse().unwrap(), v);
        }
        builder.build().unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Creates [`BUCKET`] (moto takes an unsigned CreateBucket).
    pub async fn create_bucket(&self) {
        let created = reqwest::Client::new()
            .put(format!("{}/{BUCKET}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "{created:?}");
    }

    /// The environment a `cdht-server` child reaches the bucket with: these
    /// `AWS_*` variables, every other one of the test's environment removed
    /// (it may name another S3, or a CA bundle).
    pub fn env_of(&self, command: &mut Command) {
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
            command.env_remove(key);
        }
        for (key, value) in self.options() {
            command.env(key.to_ascii_uppercase(), value);
        }
    }
}
