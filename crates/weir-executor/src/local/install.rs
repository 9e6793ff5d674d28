//! Command-line rewrites for lightweight Python components run on the host: the `python3`
//! interpreter substitution and recognition of the SDK's package-install wrapper.
//!
//! A lightweight component's command starts with `sh -c "<install script>"`, where the script
//! installs kfp (and any `packages_to_install`) with pip and then runs the rest of the argv
//! through `"$0" "$@"`. The wrapper is therefore the first three argv elements, and the
//! elements after it form a complete command on their own.

use std::path::Path;

use weir_spec::ContainerSpec;

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

/// Returns `container` with `python3` and `python` replaced by `python` (the interpreter path)
/// where they name a program: as a whole command or argument element, and as a command word
/// inside shell scripts passed with `-c`. The component source is neither, so it is kept.
pub(super) fn rewrite_python(container: &ContainerSpec, python: &Path) -> ContainerSpec {
    let python = python.to_string_lossy();
    let quoted = shell_quote(&python);
    let command_len = container.command.len();
    let mut elements: Vec<String> =
        container.command.iter().chain(&container.args).cloned().collect();

    for index in 0..elements.len() {
        let element = &elements[index];
        if element == "python3" || element == "python" {
            elements[index] = python.to_string();
        } else if is_shell_script(&elements, index) {
            elements[index] = replace_python_words(element, &quoted);
        }
    }

    let args = elements.split_off(command_len);
    ContainerSpec { command: elements, args, ..container.clone() }
}

/// Returns the install script if `argv` starts with the SDK's package-install wrapper:
/// `sh -c <script>` whose script runs `pip install` and ends by running `"$0" "$@"`.
///
/// Scripts that create and activate a virtual environment (`use_venv=True`) are excluded,
/// because the activation only lasts for the process that ran the script.
pub(super) fn install_wrapper(argv: &[String]) -> Option<&str> {
    if argv.len() < 4 || !is_shell(&argv[0]) || argv[1] != "-c" {
        return None;
    }
    let script = argv[2].as_str();
    let runs_rest = script.trim_end().ends_with(r#""$0" "$@""#);
    let installs = script.contains("pip install");
    let activates_venv = script.contains("/bin/activate");
    (runs_rest && installs && !activates_venv).then_some(script)
}

/// Returns the install script with the SDK's exact kfp pin (`'kfp==2.14.3'`) relaxed to
/// `'kfp'`, or `None` when it has no such pin.
///
/// Tasks run in the host's Python environment, not in a container of their own, so pip would
/// otherwise replace the kfp the user installed with the version each pipeline was compiled
/// with. The executor only needs some kfp 2 to be importable.
pub(super) fn unpin_kfp(script: &str) -> Option<String> {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    let mut changed = false;
    while let Some(start) = rest.find("kfp==") {
        let before = rest[..start].chars().last();
        let starts_token = before.is_none_or(|c| c.is_whitespace() || c == '\'' || c == '"');
        let version_len = rest[start + 5..]
            .find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == ';')
            .unwrap_or(rest.len() - start - 5);
        out.push_str(&rest[..start]);
        if starts_token {
            out.push_str("kfp");
            changed = true;
        } else {
            out.push_str(&rest[start..start + 5 + version_len]);
        }
        rest = &rest[start + 5 + version_len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Executor module of lightweight components compiled by kfp before 2.1.
const LEGACY_EXECUTOR_MAIN: &str = "kfp.components.executor_main";
/// Executor module of kfp 2.1 and later.
const EXECUTOR_MAIN: &str = "kfp.dsl.executor_main";

/// Python check that exits 0 when the installed kfp has `kfp.dsl.executor_main` and no longer
/// has `kfp.components.executor_main`. It looks for the module files instead of importing
/// them, because importing `kfp.components` with `_KFP_RUNTIME=true` fails.
pub(super) const LEGACY_EXECUTOR_MAIN_MISSING_CHECK: &str = "\
import importlib.util as u, os, sys
spec = u.find_spec('kfp')
root = os.path.dirname(spec.origin) if spec and spec.origin else ''
new = os.path.exists(os.path.join(root, 'dsl', 'executor_main.py'))
old = os.path.exists(os.path.join(root, 'components', 'executor_main.py'))
sys.exit(0 if root and new and not old else 1)
";

/// Replaces `kfp.components.executor_main` with `kfp.dsl.executor_main` where `argv` runs it:
/// as a whole element, or inside a shell script passed with `-c`. The component source is
/// neither, so it is kept. Returns whether anything changed.
///
/// kfp 2.1 moved the module, and the kfp pin of an older pipeline is not installed over the
/// host's kfp (see [`unpin_kfp`]), so without the rename such components cannot start.
pub(super) fn rename_legacy_executor_main(argv: &mut [String]) -> bool {
    let mut changed = false;
    for index in 0..argv.len() {
        let element = &argv[index];
        let rewritten = if element == LEGACY_EXECUTOR_MAIN {
            EXECUTOR_MAIN.to_string()
        } else if is_shell_script(argv, index) && element.contains(LEGACY_EXECUTOR_MAIN) {
            element.replace(LEGACY_EXECUTOR_MAIN, EXECUTOR_MAIN)
        } else {
            continue;
        };
        argv[index] = rewritten;
        changed = true;
    }
    changed
}

fn is_shell(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    SHELLS.contains(&name)
}

/// Returns whether `elements[index]` is a script passed to a shell with `-c` (or `-ec`, ...).
fn is_shell_script(elements: &[String], index: usize) -> bool {
    if index < 2 || !is_shell(&elements[index - 2]) {
        return false;
    }
    let flag = &elements[index - 1];
    let letters = flag.strip_prefix('-').unwrap_or("");
    !letters.is_empty() && letters.bytes().all(|b| b.is_ascii_alphabetic()) && letters.contains('c')
}

/// Replaces `python3` and `python` where they stand as whole words in a shell script.
fn replace_python_words(script: &str, replacement: &str) -> String {
    let bytes = script.as_bytes();
    let mut out = String::with_capacity(script.len() + replacement.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(offset) = script[search..].find("python") {
        let start = search + offset;
        let starts_word = start == 0 || is_word_boundary(bytes[start - 1], b"(`\"'");
        let ends_at =
            |len: usize| bytes.get(start + len).is_none_or(|b| is_word_boundary(*b, b")`\"'"));
        let word_len = if script[start..].starts_with("python3") && ends_at(7) {
            7
        } else if ends_at(6) {
            6
        } else {
            0
        };
        if starts_word && word_len > 0 {
            out.push_str(&script[copied..start]);
            out.push_str(replacement);
            copied = start + word_len;
        }
        search = start + 6;
    }
    out.push_str(&script[copied..]);
    out
}

fn is_word_boundary(byte: u8, quotes_and_parens: &[u8]) -> bool {
    byte.is_ascii_whitespace() || b";&|".contains(&byte) || quotes_and_parens.contains(&byte)
}

/// Quotes `text` for a POSIX shell unless it contains only characters that need no quoting.
fn shell_quote(text: &str) -> String {
    let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._+-:@%,=".contains(&b));
    if plain && !text.is_empty() {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn replace_python_words_table() {
        let cases = [
            ("python3 -m pip install x", "/v/py -m pip install x"),
            ("_KFP_RUNTIME=true python3 -m kfp", "_KFP_RUNTIME=true /v/py -m kfp"),
            ("apt-get install python3-pip", "apt-get install python3-pip"),
            ("python -V; python3 -V", "/v/py -V; /v/py -V"),
            ("x=$(python3 -c 1)", "x=$(/v/py -c 1)"),
            ("mypython3 pythonic python3.11", "mypython3 pythonic python3.11"),
            ("python3", "/v/py"),
        ];
        for (script, expected) in cases {
            assert_eq!(replace_python_words(script, "/v/py"), expected, "script {script:?}");
        }
    }

    #[test]
    fn rewrite_python_keeps_component_source() {
        let container = ContainerSpec {
            command: strings(&["sh", "-c", "python3 -m pip install kfp && \"$0\" \"$@\"", "sh"]),
            args: strings(&["-ec", "python3 -m kfp.dsl.executor_main \"$0\"", "import python3"]),
            ..Default::default()
        };
        let rewritten = rewrite_python(&container, Path::new("/v/py"));
        assert_eq!(rewritten.command[2], "/v/py -m pip install kfp && \"$0\" \"$@\"");
        assert_eq!(rewritten.command[3], "sh");
        assert_eq!(rewritten.args[1], "/v/py -m kfp.dsl.executor_main \"$0\"");
        assert_eq!(rewritten.args[2], "import python3");
    }

    #[test]
    fn rewrite_python_replaces_whole_tokens() {
        let container = ContainerSpec {
            command: strings(&["python3", "-m", "kfp.dsl.executor_main"]),
            args: strings(&["python"]),
            ..Default::default()
        };
        let rewritten = rewrite_python(&container, Path::new("/opt/my env/python"));
        assert_eq!(
            rewritten.command,
            strings(&["/opt/my env/python", "-m", "kfp.dsl.executor_main"])
        );
        assert_eq!(rewritten.args, strings(&["/opt/my env/python"]));
    }

    #[test]
    fn shell_quote_only_when_needed() {
        assert_eq!(shell_quote("/work/.venv/bin/python"), "/work/.venv/bin/python");
        assert_eq!(shell_quote("/opt/my env/py"), "'/opt/my env/py'");
        assert_eq!(shell_quote("/it's/py"), r"'/it'\''s/py'");
    }

    #[test]
    fn install_wrapper_recognised() {
        let script = "\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install 'kfp==2.17.3' && \"$0\" \"$@\"\n";
        let argv = strings(&["sh", "-c", script, "sh", "-ec", "run"]);
        assert_eq!(install_wrapper(&argv), Some(script));
    }

    #[test]
    fn unpin_kfp_table() {
        let cases = [
            (
                "pip install --quiet 'kfp==2.14.3' '--no-deps' && x",
                Some("pip install --quiet 'kfp' '--no-deps' && x"),
            ),
            ("pip install kfp==2.0.0b16 && x", Some("pip install kfp && x")),
            ("pip install 'mykfp==1.0' && x", None),
            ("pip install 'numpy' && x", None),
        ];
        for (script, expected) in cases {
            assert_eq!(unpin_kfp(script).as_deref(), expected, "script {script:?}");
        }
    }

    #[test]
    fn rename_legacy_executor_main_in_scripts_and_tokens() {
        let source = "from kfp.components import executor_main  # kfp.components.executor_main";
        let mut argv = strings(&[
            "sh",
            "-c",
            "pip install 'kfp' && \"$0\" \"$@\"",
            "sh",
            "-ec",
            "python3 -m kfp.components.executor_main --component_module_path x \"$@\"",
            source,
            "--executor_input",
        ]);
        assert!(rename_legacy_executor_main(&mut argv));
        assert_eq!(argv[5], "python3 -m kfp.dsl.executor_main --component_module_path x \"$@\"");
        assert_eq!(argv[6], source);

        let mut direct = strings(&["python3", "-m", "kfp.components.executor_main", "--x"]);
        assert!(rename_legacy_executor_main(&mut direct));
        assert_eq!(direct, strings(&["python3", "-m", "kfp.dsl.executor_main", "--x"]));
    }

    #[test]
    fn rename_legacy_executor_main_leaves_current_commands() {
        let mut argv = strings(&["sh", "-ec", "python3 -m kfp.dsl.executor_main \"$@\"", "src"]);
        let before = argv.clone();
        assert!(!rename_legacy_executor_main(&mut argv));
        assert_eq!(argv, before);
    }

    #[test]
    fn install_wrapper_rejects_other_commands() {
        let venv = "python3 -m venv \"$tmp/venv\"\n. \"$tmp/venv/bin/activate\"\npython3 -m pip install kfp && \"$0\" \"$@\"";
        let cases = [
            strings(&["sh", "-c", "echo hi && \"$0\" \"$@\"", "sh", "-c", ":"]),
            strings(&["sh", "-c", "pip install x && \"$0\" \"$@\""]),
            strings(&["sh", "-ec", "pip install x && \"$0\" \"$@\"", "sh"]),
            strings(&["sh", "-c", "pip install x", "sh", "-c", ":"]),
            strings(&["sh", "-c", venv, "sh", "-c", ":"]),
            strings(&["python3", "-c", "pip install x && \"$0\" \"$@\"", "sh"]),
        ];
        for argv in cases {
            assert_eq!(install_wrapper(&argv), None, "argv {argv:?}");
        }
    }
}
