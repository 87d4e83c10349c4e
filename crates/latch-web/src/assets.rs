//! The scripts and the stylesheet, embedded; served under `/assets/`.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// `(name, Asset)` for the file `assets/{name}`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        (
            $name,
            Asset {
                content_type: $content_type,
                body: include_str!(concat!("../assets/", $name)),
            },
        )
    };
}

const FILES: &[(&str, Asset)] = &[
    asset!("latch.css", CSS),
    asset!("common.js", JS),
    asset!("webauthn.js", JS),
    asset!("signin.js", JS),
    asset!("signup.js", JS),
    asset!("security.js", JS),
    asset!("admin.js", JS),
    asset!("consent.js", JS),
    asset!("step_up.js", JS),
];

/// The file `name` (as in `/assets/{name}`), if there is one.
pub fn get(name: &str) -> Option<Asset> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Every file's name, for the tests.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(n, _)| *n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Locale;

    #[test]
    fn unknown_names_are_not_served() {
        assert!(get("signin.js").is_some());
        assert!(get("../Cargo.toml").is_none());
        assert!(get("").is_none());
    }

    /// Scripts ask for their words with `msg("id")`: each id must be in every catalogue, and no
    /// script may write a sentence of its own.
    #[test]
    fn every_message_a_script_asks_for_is_in_every_catalogue() {
        for name in names().filter(|n| n.ends_with(".js")) {
            let Some(asset) = get(name) else { continue };
            for id in quoted_after(asset.body, "msg(\"") {
                for locale in Locale::ALL {
                    assert!(
                        locale.catalogue().has(id),
                        "{name}: {id} not in {}.ftl",
                        locale.tag()
                    );
                }
            }
        }
    }

    /// The ids after each `marker` up to the closing quote.
    pub(crate) fn quoted_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
        text.split(marker)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect()
    }
}
