//! The protocol document's table of error codes is generated from
//! `cdht_core::Code` (the codes the server sends): this test fails when the
//! committed table differs; `CDHT_UPDATE_GENERATED=1 cargo test -p
//! cdht-server --test error_codes` rewrites it.

use cdht_core::code::Origin;
use cdht_core::Code;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sync-protocol.md");
const BEGIN: &str = "<!-- error codes: generated from cdht_core::Code, do not edit -->\n";
const END: &str = "<!-- end of error codes -->\n";

fn table() -> String {
    let mut out = String::from("| code | params | meaning |\n|---|---|---|\n");
    for c in Code::ALL.iter().filter(|c| c.origin == Origin::Server) {
        let params = c
            .params
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let meaning = c.meaning.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push_str(&format!("| `{}` | {params} | {meaning} |\n", c.name));
    }
    out
}

#[test]
fn the_protocol_documents_error_table_lists_every_server_code() {
    let doc = std::fs::read_to_string(DOC).expect("read docs/sync-protocol.md");
    let start = doc
        .find(BEGIN)
        .expect("the doc has the error table's start marker")
        + BEGIN.len();
    let end = doc[start..].find(END).expect("the doc has the end marker") + start;
    let want = table();
    if std::env::var_os("CDHT_UPDATE_GENERATED").is_some() {
        let updated = format!("{}{want}{}", &doc[..start], &doc[end..]);
        std::fs::write(DOC, updated).expect("write docs/sync-protocol.md");
        return;
    }
    let listed: Vec<&str> = doc[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    let server: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| c.origin == Origin::Server)
        .map(|c| c.name)
        .collect();
    assert_eq!(listed, server, "the doc's codes differ from the server's");
    assert!(server.len() > 50, "{}", server.len());
    assert!(
        doc[start..end] == want,
        "docs/sync-protocol.md's error table is stale: run \
         `CDHT_UPDATE_GENERATED=1 cargo test -p cdht-server --test error_codes`"
    );
}
