//! TLS to the database, on a private cluster that speaks TLS with a
//! certificate made for the test: `sslmode=require` with the right root
//! encrypts every pooled connection, a server no root vouches for is
//! refused, and a URL that asks for no TLS connects as before.
#![allow(clippy::unwrap_used)]

use cdht_server_postgres::PgStorage;
use cdht_test_support::postgres::start_tls_cluster;

/// The server's pooled connections to `db`, and how many of them use TLS.
fn connections_with_tls(admin: &str, db: &str) -> (i64, i64) {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    let row = c
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl)
               FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
              WHERE a.datname = $1",
            &[&db],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn tls_is_asked_for_checked_in_full_or_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let cluster = start_tls_cluster(&cert, &key);
    let admin = cluster.url.clone();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute("CREATE DATABASE with_tls").unwrap();
    c.batch_execute("CREATE DATABASE without_tls").unwrap();
    let base = admin.trim_end_matches("/postgres");

    // Asked for, with the root that signed the server's certificate: every
    // connection of the pool is encrypted, the schema migrated through them.
    let url = format!(
        "{base}/with_tls?sslmode=require&sslrootcert={}",
        cert.display()
    );
    let storage = PgStorage::open(&url, 3).unwrap();
    let (all, encrypted) = connections_with_tls(&admin, "with_tls");
    assert!(all >= 1, "no pooled connection seen");
    assert_eq!(encrypted, all, "a pooled connection without TLS");
    drop(storage);

    // Asked for, but no trusted root vouches for the server (the system's
    // roots do not know the test's certificate): refused, and said so.
    let err = PgStorage::open(&format!("{base}/with_tls?sslmode=verify-full"), 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("certificate"), "{err}");

    // Not asked for (libpq's default, prefer): no TLS, as before.
    let storage = PgStorage::open(&format!("{base}/without_tls"), 2).unwrap();
    let (all, encrypted) = connections_with_tls(&admin, "without_tls");
    assert!(all >= 1, "no pooled connection seen");
    assert_eq!(encrypted, 0);
    drop(storage);
}
