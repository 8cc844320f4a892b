//! How both binaries print an error: the message and its causes on one
//! line, each cause once. Lives here, beside the format, because the
//! recorder and the analyzer must word failures the same way and share no
//! other crate; it needs nothing but `std`.
//!
//! Many errors quote their cause in their own message ("writing X: {cause}
//! (hint)") and also return it as their `source()`, so printing the chain
//! naively says "File exists (os error 17): File exists (os error 17)".

use std::error::Error;

/// `e` and its causes, outermost first, joined by ": ", leaving out a cause
/// whose text the line already holds.
pub fn error_line(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    text
}

/// Whether `e` or a cause is a closed pipe (`… | head`): not an error for
/// a command whose reader stopped reading.
pub fn is_broken_pipe(e: &(dyn Error + 'static)) -> bool {
    let mut cause: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(String, std::io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn a_quoted_cause_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(17);
        let quoted = Wrap(format!("writing /a/b: {io}"), io);
        assert_eq!(
            error_line(&quoted),
            "writing /a/b: File exists (os error 17)"
        );
        let plain = Wrap(
            "opening x".into(),
            std::io::Error::other("permission denied"),
        );
        assert_eq!(error_line(&plain), "opening x: permission denied");
    }

    #[test]
    fn broken_pipe_is_found_in_the_chain() {
        let e = Wrap("printing".into(), std::io::ErrorKind::BrokenPipe.into());
        assert!(is_broken_pipe(&e));
        let e = Wrap("printing".into(), std::io::Error::other("full"));
        assert!(!is_broken_pipe(&e));
    }
}
