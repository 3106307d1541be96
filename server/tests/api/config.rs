//! Leptos.toml (read by the binary) and Cargo.toml (read by cargo-leptos) must agree where both name a value.

fn read(path: &str) -> toml::Value {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    toml::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap()
}

#[test]
fn output_name_and_pkg_dir_agree() {
    let cargo = read("Cargo.toml");
    let build = &cargo["workspace"]["metadata"]["leptos"][0];
    let leptos = read("Leptos.toml");
    let run = &leptos["package"]["metadata"]["leptos"];
    assert_eq!(build["name"], run["output-name"], "output name");
    assert_eq!(build["site-pkg-dir"], run["site-pkg-dir"], "pkg dir");
    assert_eq!(build["site-addr"], run["site-addr"], "default address");
}
