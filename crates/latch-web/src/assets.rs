//! The scripts and the stylesheet, embedded; served under `/assets/`.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

const FILES: &[(&str, Asset)] = &[
    (
        "latch.css",
        Asset {
            content_type: "text/css; charset=utf-8",
            body: include_str!("../assets/latch.css"),
        },
    ),
    (
        "common.js",
        Asset {
            content_type: JS,
            body: include_str!("../assets/common.js"),
        },
    ),
    (
        "webauthn.js",
        Asset {
            content_type: JS,
            body: include_str!("../assets/webauthn.js"),
        },
    ),
    (
        "signin.js",
        Asset {
            content_type: JS,
            body: include_str!("../assets/signin.js"),
        },
    ),
    (
        "signup.js",
        Asset {
            content_type: JS,
            body: include_str!("../assets/signup.js"),
        },
    ),
    (
        "security.js",
        Asset {
            content_type: JS,
            body: include_str!("../assets/security.js"),
        },
    ),
    (
        "admin.js",
        Asset {
            content_type: JS,
            body: include_str!("../assets/admin.js"),
        },
    ),
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
