//! The README's code, as a reader pastes it: every ```rust block is built and
//! run as written, in a crate of its own whose `[dependencies]` are the
//! ```toml block just before it (`stagger` by path to this checkout instead
//! of from crates.io), offline, against this workspace's `Cargo.lock`.
//!
//! rustdoc's hidden lines (`# …`) are refused: GitHub and crates.io show
//! them as code. A README with no rust block, a block without its
//! dependencies, or a crate that does not build or run fails the test: a
//! check that cannot look must not pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One ```rust block and the ```toml `[dependencies]` (or
/// `[dev-dependencies]`) block stated beside it.
struct Block {
    /// Line of the README where the code starts, for messages.
    line: usize,
    dependencies: String,
    code: String,
}

impl Block {
    /// A file of `#[test]`s with no `main`, as a reader puts in `tests/`:
    /// run with `cargo test` rather than `cargo run`.
    fn is_tests(&self) -> bool {
        self.code.contains("#[test]") && !self.code.contains("fn main")
    }
}

/// The README's rust blocks, each with its dependencies; panics, naming
/// the line, on anything a reader could not paste as it stands.
fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    // The last toml block with `[dependencies]`, if nothing but prose came
    // after it.
    let mut dependencies: Option<String> = None;
    let mut lines = readme.lines().enumerate();
    while let Some((at, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let (info, start) = (info.trim().to_owned(), at + 2);
        let mut body = String::new();
        loop {
            let (_, line) = lines
                .next()
                .unwrap_or_else(|| panic!("README.md:{start}: unclosed code block"));
            if line.trim_end() == "```" {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        match info.as_str() {
            "toml"
                if body
                    .lines()
                    .any(|l| matches!(l.trim(), "[dependencies]" | "[dev-dependencies]")) =>
            {
                dependencies = Some(body);
            }
            "rust" => {
                let dependencies = dependencies.take().unwrap_or_else(|| {
                    panic!(
                        "README.md:{start}: a rust block needs its [dependencies] in a toml block just before it"
                    )
                });
                for (i, code) in body.lines().enumerate() {
                    let code = code.trim_start();
                    assert!(
                        !(code == "#" || code.starts_with("# ")),
                        "README.md:{}: a rustdoc hidden line, shown as code on GitHub and crates.io: {code:?}",
                        start + i
                    );
                }
                blocks.push(Block {
                    line: start,
                    dependencies,
                    code: body,
                });
            }
            info if info.starts_with("rust") || info.is_empty() => panic!(
                "README.md:{start}: ```{info}: README's code is built and run as written; \
                 mark it ```rust (no attributes), or name its language"
            ),
            _ => dependencies = None,
        }
    }
    blocks
}

/// `dependencies` with `stagger` taken from this checkout, its features
/// kept.
fn from_checkout(dependencies: &str, root: &Path, line: usize) -> String {
    let path = format!("path = {:?}", root.display().to_string());
    let mut found = false;
    let lines: Vec<String> = dependencies
        .lines()
        .map(|l| {
            let Some(spec) = l.strip_prefix("stagger").map(str::trim_start) else {
                return l.to_owned();
            };
            let Some(spec) = spec.strip_prefix('=').map(str::trim) else {
                return l.to_owned();
            };
            found = true;
            if spec.starts_with('"') {
                // `stagger = "0.1"`
                return format!("stagger = {{ {path} }}");
            }
            // `stagger = { version = "0.1", features = [...] }`
            let version = spec
                .find("version")
                .and_then(|v| {
                    let open = v + spec[v..].find('"')?;
                    let close = open + 1 + spec[open + 1..].find('"')?;
                    Some(v..=close)
                })
                .unwrap_or_else(|| panic!("README.md: stagger without a version: {l}"));
            let mut spec = spec.to_owned();
            spec.replace_range(version, &path);
            format!("stagger = {spec}")
        })
        .collect();
    assert!(
        found,
        "README.md:{line}: the dependencies do not name stagger"
    );
    lines.join("\n")
}

#[test]
fn readme_blocks_build_and_run_as_written() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = blocks(&readme);
    assert!(!blocks.is_empty(), "README.md: no rust block found");

    // Outside the build directory `cargo test` holds, shared by the blocks
    // and kept between runs: each dependency set is built once.
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme");
    let lock = fs::read(root.join("Cargo.lock")).expect("Cargo.lock");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for (i, block) in blocks.iter().enumerate() {
        let dir = scratch.join(format!("block-{i}"));
        fs::create_dir_all(dir.join("src")).unwrap();
        let manifest = format!(
            "[package]\nname = \"readme-block-{i}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             {}\n\n# A workspace of its own, not the checkout's.\n[workspace]\n\n\
             # Built to be run once: no debug info (a third of the time, a\n\
             # fifth of the disk).\n[profile.dev]\ndebug = false\n",
            from_checkout(&block.dependencies, &root, block.line)
        );
        fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        let (file, command) = if block.is_tests() {
            fs::create_dir_all(dir.join("tests")).unwrap();
            fs::write(dir.join("src/lib.rs"), "").unwrap();
            ("tests/readme.rs", "test")
        } else {
            ("src/main.rs", "run")
        };
        fs::write(dir.join(file), &block.code).unwrap();
        // The versions this checkout is tested with, already downloaded.
        fs::write(dir.join("Cargo.lock"), &lock).unwrap();
        let output = Command::new(&cargo)
            .args([command, "--offline", "--quiet", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(scratch.join("target"))
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "README.md:{}: the block does not build and run as written ({}):\n{}\n{}",
            block.line,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}
