//! The mails a test app sent: the messages in its outbox, and the links in
//! them.

use crate::TestApp;

/// The `.eml` files in the outbox of `app`, oldest first; none when there is
/// no outbox directory. The server renames each message into place whole, so
/// a listed message that cannot be read fails the test.
pub fn outbox(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.data_dir.join("outbox")) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let read = || {
                let modified = std::fs::metadata(&p)?.modified()?;
                Ok::<_, std::io::Error>((modified, std::fs::read_to_string(&p)?))
            };
            read().unwrap_or_else(|e| panic!("a readable message {}: {e}", p.display()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, text)| text).collect()
}

/// The invite link in a message (quoted-printable soft breaks undone).
pub fn invite_link(message: &str) -> Option<String> {
    link_in(message, "/invite/")
}

/// The first `http://` link in a message (quoted-printable soft breaks
/// undone), if its path holds `marker` (`/invite/`, `/reset/`).
pub fn link_in(message: &str, marker: &str) -> Option<String> {
    let text = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text.find("http://")?;
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.contains(marker).then_some(link)
}
