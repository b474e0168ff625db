//! A browser's `User-Agent` in a few words ("Firefox on Linux"), so that a
//! person can tell their sessions apart. Only the families people meet; the
//! rest read "Unknown browser".

/// "Browser on system", the browser alone, or "Unknown browser".
pub fn describe(user_agent: &str) -> String {
    let browser = browser(user_agent);
    match (browser, system(user_agent)) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "Unknown browser".to_owned(),
    }
}

fn browser(ua: &str) -> Option<&'static str> {
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    const FAMILIES: [(&str, &str); 9] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("muster/", "Muster CLI"),
    ];
    FAMILIES
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|(_, name)| *name)
}

fn system(ua: &str) -> Option<&'static str> {
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn common_browsers_read_as_browser_on_system() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on macOS"),
            ("curl/8.5.0", "curl"),
            ("", "Unknown browser"),
            ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
        ];
        for (ua, expected) in cases {
            assert_eq!(describe(ua), expected, "{ua}");
        }
    }
}
