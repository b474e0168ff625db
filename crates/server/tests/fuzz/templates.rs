//! Invite templates through the server's sandboxed renderer
//! (`invite_templates::render::{check, render}`): any source renders or is
//! refused with the field and the reason, within seconds, never a panic;
//! the values put into a template are never run as template code, and a
//! rendered subject is one line.
//!
//! Generated sources come from a small grammar of the template language,
//! mostly what a template may use (variables, literals, `~`, comparisons,
//! the allowed filters and tests, `if`/`elif`/`else`, raw blocks, comments,
//! whitespace control, deep parentheses) and some of what it may not (loops,
//! `set`, macros, `*`, other filters and functions), mixed with arbitrary
//! text. Its numbers stay small or far out of range, so a run never needs
//! much memory in this process: what a template may make the renderer
//! allocate is the concern of `template_arguments_cannot_exhaust_the_server`,
//! which checks each case in a child process under a memory limit.

use crate::{cases, check as run, seed_lines};
use muster_server::features::invite_templates::render::{
    check, render, InviteVars, TemplateError, DEFAULT_BODY, DEFAULT_SUBJECT,
};
use proptest::prelude::*;
use proptest::sample::select;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one template may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(10);

const VARIABLES: &[&str] = &[
    "first_name",
    "last_name",
    "organization",
    "inviter",
    "invite_link",
    "expires_at",
    "frist_name",
    "loop.index",
    "loop",
    "x",
    "self",
    "range",
    "namespace",
    "debug",
];

/// The filters a template may use, with arguments, and some it may not.
const FILTERS: &[&str] = &[
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "default",
    "d",
    "default(\"x\")",
    "default(\"\", true)",
    "d(first_name)",
    "upper(1)",
    "trim(\"x\")",
    "default(x, y, z)",
    "indent(2)",
    "join",
    "batch(3)",
    "replace(\"a\", \"bb\")",
    "length",
    "nofilter",
];

/// The tests a template may use, and some it may not.
const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "not defined",
    "not undefined",
    "odd",
    "eq 1",
    "nosuchtest",
];

/// Numbers: small ones, and ones far out of every range.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "-7",
    "10",
    "0.5",
    "1e308",
    "-1e308",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
];

fn quoted(text: String) -> String {
    let text: String = text.chars().take(20).collect();
    format!("{:?}", text)
}

fn atom() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(VARIABLES).prop_map(String::from),
        2 => select(NUMBERS).prop_map(String::from),
        2 => any::<String>().prop_map(quoted),
        1 => select(vec!["true", "false", "none", "[]", "[1, 2, 3]", "{}", "{\"a\": 1}",
            "(1, 2)", "\"\"", "'x'", "range(3)", "namespace()", "dict(a=1)", "debug()",
            "lipsum()", "caller()", "super()", "varargs", "kwargs", "self", "loop"])
            .prop_map(String::from),
    ]
    .boxed()
}

fn expression() -> BoxedStrategy<String> {
    let op = select(vec![
        "~", "~", "~", "+", "-", "/", "//", "%", "==", "!=", "<", ">=", "and", "or", "in",
        "not in", "is", "is not", "*", "**",
    ]);
    prop_oneof![
        3 => atom(),
        3 => (atom(), op, atom()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        3 => (atom(), prop::collection::vec(select(FILTERS), 1..4))
            .prop_map(|(a, filters)| format!("{a}|{}", filters.join("|"))),
        1 => (atom(), select(TESTS)).prop_map(|(a, t)| format!("{a} is {t}")),
        1 => (atom(), atom(), atom()).prop_map(|(a, b, c)| format!("{a} if {b} else {c}")),
        1 => (atom(), atom()).prop_map(|(a, b)| format!("{a}[{b}]")),
        1 => (atom(), atom()).prop_map(|(a, b)| format!("{a}.{b}")),
        1 => atom().prop_map(|a| format!("not {a}")),
        1 => atom().prop_map(|a| format!("({a}")),
        1 => (1usize..160).prop_map(|n| format!("{}1{}", "(".repeat(n), ")".repeat(n))),
    ]
    .boxed()
}

fn node() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        3 => "[^{}%#]{0,30}",
        4 => expression().prop_map(|e| format!("{{{{ {e} }}}}")),
        1 => expression().prop_map(|e| format!("{{{{- {e} -}}}}")),
        1 => expression().prop_map(|e| format!("{{{{+ {e} +}}}}")),
        1 => any::<String>().prop_map(|c| format!("{{# {c} #}}")),
        1 => "[^{}%#]{0,10}".prop_map(|r| format!("{{% raw %}}{{{{ {r} }}}}{{% endraw %}}")),
        1 => expression().prop_map(|e| format!("{{% set x = {e} %}}")),
        1 => select(vec![
            "{{", "}}", "{%", "%}", "{#", "#}", "{% endif %}", "{% endfor %}", "{% else %}",
            "{% elif %}", "{% endraw %}", "{% include \"x\" %}", "{% extends \"x\" %}",
            "{% import \"x\" as y %}", "{% block b %}", "{% endblock %}", "{% filter upper %}",
            "{% endfilter %}", "{% autoescape true %}", "{% with a = 1 %}", "{% endwith %}",
            "{% break %}", "{% continue %}", "{% do x %}", "{%- -%}", "{{ }}", "{{- -}}",
            "{{ + }}", "{%+ if 1 +%}", "{%- if 1 -%}", "{%if%}", "{% if(1) %}", "{% iffy %}",
            "{% if 1 %}{% else %}{% else %}{% endif %}", "{% if 1 %}{% endif %}{% endif %}",
            "{{ '*' }}", "{# * #}", "{% raw %}*{% endraw %}",
        ])
        .prop_map(String::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4).prop_map(|nodes| nodes.concat());
        prop_oneof![
            4 => (expression(), body.clone(), body.clone()).prop_map(|(c, a, b)| {
                format!("{{% if {c} %}}{a}{{% else %}}{b}{{% endif %}}")
            }),
            2 => (expression(), expression(), body.clone(), body.clone()).prop_map(|(c, d, a, b)| {
                format!("{{%- if {c} -%}}{a}{{% elif {d} %}}{b}{{%- endif %}}")
            }),
            1 => (select(vec!["range(3)", "\"abc\"", "first_name", "loop"]), body.clone())
                .prop_map(|(items, b)| format!("{{% for i in {items} %}}{b}{{% endfor %}}")),
            1 => body.clone().prop_map(|b| {
                format!("{{% macro m(a, b=1) %}}{b}{{% endmacro %}}{{{{ m(1) }}}}")
            }),
            1 => (select(FILTERS), body.clone())
                .prop_map(|(f, b)| format!("{{% filter {f} %}}{b}{{% endfilter %}}")),
            2 => body,
        ]
    })
    .boxed()
}

/// A template source: the grammar, seeds, or any text.
fn source() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::collection::vec(node(), 0..6).prop_map(|nodes| nodes.concat()),
        1 => select(seed_lines("templates.txt")),
        1 => any::<String>(),
    ]
    .boxed()
}

/// The outcome of `work` on a thread of its own, or why there is none: it
/// panicked, or it took longer than [`PATIENCE`].
fn within_patience<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (done, outcome) = mpsc::channel();
    let started = Instant::now();
    // The stack of a tokio worker thread, where the server renders.
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|e| format!("a thread for {what}: {e}"))?;
    match outcome.recv_timeout(PATIENCE) {
        Ok(value) => Ok(value),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "{what} still runs after {:?}: a hang",
            started.elapsed()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("{what} panicked")),
    }
}

fn refusal_is_clean(error: &TemplateError) -> Result<(), String> {
    if !["subject", "body"].contains(&error.field) || error.message.trim().is_empty() {
        return Err(format!("an unclear refusal: {error:?}"));
    }
    Ok(())
}

fn renders_or_refuses((subject, body): (String, String)) -> Result<(), String> {
    let vars = InviteVars::sample("Acme");
    let link = vars.invite_link.clone();
    let (checked, rendered) = within_patience("rendering", move || {
        let checked = check(&subject, &body, "Acme");
        let rendered = render(&subject, &body, &vars);
        (checked, rendered)
    })?;
    match checked {
        Ok(()) => {
            let (_, text) = rendered
                .as_ref()
                .map_err(|e| format!("checked, yet not rendered: {e:?}"))?;
            if !text.contains(&link) {
                return Err("a checked template without the invite link".into());
            }
        }
        Err(error) => refusal_is_clean(&error)?,
    }
    match rendered {
        Ok((subject, _)) if subject.contains(['\r', '\n']) => {
            Err(format!("a subject of several lines: {subject:?}"))
        }
        Ok(_) => Ok(()),
        Err(error) => refusal_is_clean(&error),
    }
}

#[test]
fn template_sources_render_or_are_refused() {
    let seeds = seed_lines("templates.txt");
    let seeded = seeds.iter().flat_map(|s| {
        [
            (s.clone(), DEFAULT_BODY.to_owned()),
            (
                DEFAULT_SUBJECT.to_owned(),
                format!("{s}{{{{ invite_link }}}}"),
            ),
        ]
    });
    run(
        file!(),
        "template_sources_render_or_are_refused",
        cases(256),
        seeded.collect::<Vec<_>>(),
        prop_oneof![
            (source(), source()),
            (source(), Just(DEFAULT_BODY.to_owned())),
            source().prop_map(|s| (
                DEFAULT_SUBJECT.to_owned(),
                format!("{s}{{{{ invite_link }}}}")
            )),
        ],
        renders_or_refuses,
    );
}

/// What a person typed (a name, an organization's name) is data: the default
/// template shows it as it is, even when it looks like template code, and
/// the subject stays one line whatever the inviter's name holds.
#[test]
fn values_are_never_run_as_template_code() {
    let text = prop_oneof![
        select(seed_lines("templates.txt")),
        select(seed_lines("strings.txt")),
        any::<String>(),
    ];
    run(
        file!(),
        "values_are_never_run_as_template_code",
        cases(256),
        Vec::new(),
        (text.clone(), text.clone(), text),
        |(first_name, organization, inviter)| {
            let vars = InviteVars {
                first_name: first_name.clone(),
                organization: organization.clone(),
                inviter: inviter.clone(),
                ..InviteVars::sample("Acme")
            };
            let (subject, body) = within_patience("rendering", move || {
                render(DEFAULT_SUBJECT, DEFAULT_BODY, &vars)
            })?
            .map_err(|e| format!("the default template refused values: {e:?}"))?;
            for value in [&first_name, &organization, &inviter] {
                if !body.contains(value.as_str()) {
                    return Err(format!("{value:?} is not in the body as typed: {body:?}"));
                }
            }
            if subject.contains(['\r', '\n']) {
                return Err(format!("a subject of several lines: {subject:?}"));
            }
            Ok(())
        },
    );
}

/// Filters and operators with a size argument, and arguments from small to
/// far past what a machine has.
fn greedy_source() -> BoxedStrategy<String> {
    let size = select(vec![
        "0",
        "1",
        "1000",
        "1000000",
        "100000000",
        "1000000000000",
        "9223372036854775807",
        "18446744073709551615",
        "-1",
    ]);
    let shape = select(vec![
        "{{ \"x\"|indent(N) }}",
        "{{ \"a\\nb\"|indent(N, true, true) }}",
        "{{ \"x\"|batch(N) }}",
        "{{ [1, 2]|batch(N, 0) }}",
        "{{ \"x\"|slice(N) }}",
        "{{ []|slice(N, 0) }}",
        "{{ \"%Ns\"|format(\"x\") }}",
        "{{ \"%.Nf\"|format(1.5) }}",
        "{{ \"x\"|truncate(N) }}",
        "{{ \"x\" * N }}",
        "{{ [0] * N }}",
        "{{ range(N)|list|length }}",
        "{{ 1.5|round(N) }}",
        "{{ \"x\"|center(N) }}",
        "{{ \"x\"|tojson(indent=N) }}",
        "{{ lipsum(N) }}",
    ]);
    (shape, size)
        .prop_map(|(shape, n)| format!("{}{{{{ invite_link }}}}", shape.replace('N', n)))
        .boxed()
}

/// Set (hex-encoded) for the child that renders one template.
const CHILD_TEMPLATE: &str = "MUSTER_FUZZ_TEMPLATE_HEX";
/// The address space the child may use (KiB).
const CHILD_MEMORY_KIB: u64 = 3_000_000;

/// The child's side of `template_arguments_cannot_exhaust_the_server`: checks
/// the template in `MUSTER_FUZZ_TEMPLATE_HEX` (nothing without it).
#[test]
#[ignore = "run by template_arguments_cannot_exhaust_the_server in a child process"]
fn render_one_in_a_child() {
    let Ok(hex) = std::env::var(CHILD_TEMPLATE) else {
        return;
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let source = String::from_utf8(bytes).expect("a UTF-8 template");
    let outcome = check("Hi", &source, "Acme");
    println!("outcome: {outcome:?}");
}

/// Checks `source` in a child process limited to [`CHILD_MEMORY_KIB`] of
/// address space (so that a template asking for terabytes ends the child,
/// not the machine): the child must end normally (`Ok` or a refusal) within
/// [`PATIENCE`].
fn checks_in_a_child(source: String) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("this test binary: {e}"))?;
    let hex: String = source.bytes().map(|b| format!("{b:02x}")).collect();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {CHILD_MEMORY_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(&exe)
        .args(["--exact", "templates::render_one_in_a_child", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_TEMPLATE, hex)
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("the child does not start: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                // A wrong test name would run nothing and pass.
                let output = child.wait_with_output().map_err(|e| e.to_string())?;
                let said = String::from_utf8_lossy(&output.stdout);
                return match said.contains("outcome: ") {
                    true => Ok(()),
                    false => Err(format!("the child checked nothing: {said}")),
                };
            }
            Ok(Some(status)) => {
                let output = child.wait_with_output().map_err(|e| e.to_string())?;
                let said = String::from_utf8_lossy(&output.stderr);
                let said: Vec<&str> = said
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(3)
                    .collect();
                return Err(format!(
                    "checking it ended the process ({status}): {}",
                    said.join(" | ")
                ));
            }
            Ok(None) if started.elapsed() > PATIENCE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("checking it took more than {PATIENCE:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("the child: {e}")),
        }
    }
}

/// A template can ask for work no fuel counts: a filter that allocates its
/// size argument at once, a sequence repeated past any memory, a namespace
/// that holds itself. Each case (the seeds in `templates-greedy.txt` first)
/// is checked in a child process, as [`checks_in_a_child`] says.
#[test]
fn template_arguments_cannot_exhaust_the_server() {
    let crashing = seed_lines("templates-greedy.txt");
    let mut failures = Vec::new();
    for source in &crashing {
        if let Err(error) = checks_in_a_child(source.clone()) {
            failures.push(format!("{source}: {error}"));
        }
    }
    assert!(
        failures.is_empty(),
        "templates that break the process:\n{}",
        failures.join("\n")
    );
    run(
        file!(),
        "template_arguments_cannot_exhaust_the_server",
        cases(32),
        Vec::new(),
        greedy_source(),
        checks_in_a_child,
    );
}
