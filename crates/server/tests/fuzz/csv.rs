//! The bulk-invite CSV reader (`bulk_job::parse_csv`) on arbitrary bytes and
//! on generated uploads (ragged rows, quotes, BOMs, odd line ends, huge
//! fields): it never panics; it reads every row a well-formed file has, and
//! refuses a file it cannot use as malformed or invalid, never otherwise.
//! Over HTTP (`POST …/invitations/bulk` as `text/csv`) the answer is 202
//! with that many people, or a clean 4xx; the bulk jobs then run cleanly.

use crate::{cases, check, clean, seed_files, Served};
use muster_server::error::AppError;
use muster_server::features::invitations::bulk_job::{parse_csv, MAX_BYTES, MAX_ROWS};
use muster_test_support::Db;
use proptest::prelude::*;
use proptest::sample::select;

/// One cell as written: its text, and whether it is written quoted.
#[derive(Debug, Clone)]
struct Cell {
    text: String,
    quoted: bool,
}

impl Cell {
    fn write(&self, out: &mut Vec<u8>) {
        if self.quoted {
            out.push(b'"');
            out.extend_from_slice(self.text.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(self.text.as_bytes());
        }
    }

    /// Whether the cell reads back as its text: quoted, or free of what
    /// would end or quote it.
    fn well_formed(&self) -> bool {
        self.quoted || !(self.text.starts_with('"') || self.text.contains([',', '\r', '\n']))
    }
}

/// A generated upload.
#[derive(Clone)]
struct Upload {
    bom: bool,
    header: Vec<Cell>,
    rows: Vec<Vec<Cell>>,
    line_end: &'static str,
    final_line_end: bool,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.bytes()))
    }
}

impl Upload {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.bom {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        let lines = std::iter::once(&self.header).chain(&self.rows);
        let count = self.rows.len() + 1;
        for (i, line) in lines.enumerate() {
            for (j, cell) in line.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                cell.write(&mut out);
            }
            if i + 1 < count || self.final_line_end {
                out.extend_from_slice(self.line_end.as_bytes());
            }
        }
        out
    }

    /// How many people a reader must find, or `None` when it must refuse the
    /// file; unknown (`Err`) for a file that is not well-formed.
    fn expected(&self) -> Result<Option<usize>, ()> {
        let all = std::iter::once(&self.header).chain(&self.rows);
        if !all.flatten().all(Cell::well_formed) {
            return Err(());
        }
        // The column names as the reader sees them: the file's first
        // character is dropped when it is a byte order mark (an unquoted
        // first name's own, when the upload adds none), each name is trimmed
        // and any marks left at its start dropped too.
        let names: Vec<String> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let text = match (i, self.bom, cell.quoted) {
                    (0, false, false) => cell.text.strip_prefix('\u{feff}').unwrap_or(&cell.text),
                    _ => &cell.text,
                };
                text.trim()
                    .trim_start_matches('\u{feff}')
                    .to_ascii_lowercase()
            })
            .collect();
        let has_email = names.iter().any(|name| name == "email");
        // A column Muster does not read refuses the file.
        let known = ["email", "first_name", "last_name", "language", "role"];
        let all_known = names
            .iter()
            .all(|name| name.is_empty() || known.contains(&name.as_str()));
        let people = self
            .rows
            .iter()
            .filter(|row| row.iter().any(|cell| !cell.text.trim().is_empty()))
            .count();
        Ok((has_email && all_known && people > 0).then_some(people))
    }
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["email", "first_name", "last_name", "language", "role"]).prop_map(String::from),
        2 => select(vec![
            "Email", " EMAIL ", "\temail", "e-mail", "mail", "notes", " ", "\u{feff}email",
            "\u{feff} email", "email\u{0}", "ＥＭＡＩＬ", "emaıl", "first name", "\"email\"",
        ]).prop_map(String::from),
        1 => any::<String>(),
    ]
}

fn cell_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..10_000).prop_map(|n| format!("fuzz{n}@example.com")),
        2 => select(vec![
            "", " ", "Ada", "Lovelace", "en", "de", "fr-CA", "english", "owner", "admin",
            "creator", "user", "boss", "owner@example.com", "not-an-email", "a@b", "\"",
            "\"\"", "a,b", "line\nbreak", "cr\rlf", "=1+1", "@SUM(A1)", "\u{feff}", "\0",
            "ß", "💩", "\u{202e}", "Ünïcödé@exämple.com",
        ]).prop_map(String::from),
        2 => any::<String>(),
        1 => (select(vec!['x', 'é', '"', ',', '\n', ' ', '💩']), 1usize..200_000)
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

fn cell(text: impl Strategy<Value = String>) -> impl Strategy<Value = Cell> {
    (text, prop::bool::weighted(0.3)).prop_map(|(text, quoted)| Cell { text, quoted })
}

fn upload() -> impl Strategy<Value = Upload> {
    (
        any::<bool>(),
        prop::collection::vec(cell(header_name()), 1..8),
        prop::collection::vec(prop::collection::vec(cell(cell_text()), 0..9), 0..20),
        select(vec!["\n", "\r\n", "\r"]),
        any::<bool>(),
    )
        .prop_map(|(bom, header, rows, line_end, final_line_end)| Upload {
            bom,
            header,
            rows,
            line_end,
            final_line_end,
        })
}

/// Raw bytes: arbitrary, or CSV-ish bytes with stray quotes, separators,
/// line ends, BOMs and invalid UTF-8.
fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        select(vec![
            b"email".to_vec(),
            b",".to_vec(),
            b"\"".to_vec(),
            b"\n".to_vec(),
            b"\r".to_vec(),
            b"\xef\xbb\xbf".to_vec(),
            b"\xff\xfe".to_vec(),
            b"\xc3".to_vec(),
            b"\0".to_vec(),
            b"a@b.c".to_vec(),
            b" ".to_vec(),
        ]),
        prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        prop::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat()),
    ]
}

/// The reader on `bytes`: the number of people it read, or `None` for a
/// clean refusal; `Err` for a panic or any other answer.
fn clean_parse(bytes: &[u8]) -> Result<Option<usize>, String> {
    let result = std::panic::catch_unwind(|| parse_csv(bytes))
        .map_err(|_| "parse_csv panicked".to_owned())?;
    match result {
        Ok(upload) if !upload.is_empty() && upload.len() <= MAX_ROWS => Ok(Some(upload.len())),
        Ok(upload) => Err(format!("an upload of {} rows was accepted", upload.len())),
        Err(AppError::Malformed(message) | AppError::TooLarge(message)) if !message.is_empty() => {
            Ok(None)
        }
        Err(AppError::Invalid(invalid))
            if !invalid.is_empty() && invalid.0.iter().all(|e| e.field == "file") =>
        {
            Ok(None)
        }
        Err(other) => Err(format!("not a clean refusal: {other:?}")),
    }
}

fn seeds() -> Vec<Vec<u8>> {
    seed_files("csv")
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect()
}

#[test]
fn arbitrary_bytes_never_break_the_csv_reader() {
    check(
        file!(),
        "arbitrary_bytes_never_break_the_csv_reader",
        cases(256),
        seeds(),
        raw_bytes(),
        |bytes| clean_parse(&bytes).map(|_| ()),
    );
}

#[test]
fn generated_uploads_are_read_row_by_row() {
    check(
        file!(),
        "generated_uploads_are_read_row_by_row",
        cases(256),
        Vec::new(),
        upload(),
        |upload| {
            let got = clean_parse(&upload.bytes())?;
            match upload.expected() {
                Ok(expected) if expected != got => {
                    Err(format!("read {got:?} people, expected {expected:?}"))
                }
                _ => Ok(()),
            }
        },
    );
}

/// POSTs `upload` as `text/csv` to the bulk invitations of `served`; a
/// clean answer that took as many people as the file names, or why not.
fn upload_is_taken(served: &Served, upload: &Upload) -> Result<(), String> {
    let bytes = upload.bytes();
    let too_large = bytes.len() > MAX_BYTES;
    let (status, body) = post(served, bytes)?;
    if too_large {
        return match status {
            413 => Ok(()),
            other => Err(format!("{other} for an upload over {MAX_BYTES} bytes")),
        };
    }
    if let Ok(expected) = upload.expected() {
        let total = (status == 202)
            .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
            .flatten()
            .and_then(|accepted| accepted["total"].as_u64())
            .and_then(|total| usize::try_from(total).ok());
        if total != expected {
            return Err(format!(
                "{status} {body}: expected {expected:?} people to be taken"
            ));
        }
    }
    Ok(())
}

fn post(served: &Served, bytes: Vec<u8>) -> Result<(u16, String), String> {
    let url = served.url(&served.fill("/api/v1/orgs/{org}/invitations/bulk"));
    served.block_on(async {
        let sent = served
            .http
            .post(&url)
            .bearer_auth(&served.token)
            .header("content-type", "text/csv")
            .body(bytes)
            .send()
            .await;
        clean("POST …/invitations/bulk", sent).await
    })
}

#[test]
fn bulk_uploads_over_http_answer_cleanly() {
    let Some(served) = Served::start(Db::Sqlite) else {
        return;
    };
    for (name, bytes) in seed_files("csv") {
        post(&served, bytes).unwrap_or_else(|e| panic!("the seed {name}: {e}"));
    }
    check(
        file!(),
        "bulk_uploads_over_http_answer_cleanly",
        cases(32),
        Vec::new(),
        upload(),
        |upload| upload_is_taken(&served, &upload),
    );
    served.stop();
}

/// The bulk-invite job then runs each accepted upload without failing (a
/// bad row is a row error, never the job's), and every invite mail it
/// queues goes out.
#[test]
fn bulk_jobs_run_cleanly() {
    let Some(served) = Served::start(Db::Sqlite) else {
        return;
    };
    let mut failures = Vec::new();
    for (name, bytes) in seed_files("csv") {
        if let Err(e) = post(&served, bytes).and_then(|_| served.jobs_ran_cleanly()) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "seeds that break the job:\n{}",
        failures.join("\n")
    );
    check(
        file!(),
        "bulk_jobs_run_cleanly",
        cases(32),
        Vec::new(),
        upload(),
        |upload| {
            upload_is_taken(&served, &upload)?;
            served.jobs_ran_cleanly()
        },
    );
    served.stop();
}
