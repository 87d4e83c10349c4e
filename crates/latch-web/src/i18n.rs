//! Message catalogues (Fluent, `locales/*.ftl`) and choosing one for a request.
//!
//! Every word a page shows comes from a catalogue: templates ask for a message by id, and the
//! scripts get the whole catalogue as JSON in the page (`data-messages` on `<body>`), with
//! Fluent variables left as `{$name}` for them to fill in.

use std::borrow::Cow;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast::Entry;
use unic_langid::LanguageIdentifier;

/// The languages the pages speak, in the order the switch lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Ja,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Ja];

    /// The BCP 47 tag (`<html lang>`, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ja => "ja",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    fn source(self) -> &'static str {
        match self {
            Locale::En => include_str!("../locales/en.ftl"),
            Locale::Ja => include_str!("../locales/ja.ftl"),
        }
    }

    /// This locale's catalogue (parsed once).
    pub fn catalogue(self) -> &'static Catalogue {
        static EN: OnceLock<Catalogue> = OnceLock::new();
        static JA: OnceLock<Catalogue> = OnceLock::new();
        let cell = match self {
            Locale::En => &EN,
            Locale::Ja => &JA,
        };
        cell.get_or_init(|| Catalogue::parse(self))
    }
}

/// The language for a request: the page's `?lang=` switch, else the one remembered from an
/// earlier switch (cookie), else the best of `Accept-Language`, else English.
pub fn negotiate(asked: Option<&str>, remembered: Option<&str>, accept: Option<&str>) -> Locale {
    if let Some(l) = asked
        .and_then(Locale::from_tag)
        .or_else(|| remembered.and_then(Locale::from_tag))
    {
        return l;
    }
    let Some(accept) = accept else {
        return Locale::En;
    };
    // `ja;q=0.9, en;q=0.8`: the highest q wins; ties keep header order.
    let mut best: Option<(u16, Locale)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, parse_q);
        if q == 0 {
            continue;
        }
        if let Some(l) = Locale::from_tag(tag) {
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
    }
    best.map_or(Locale::En, |(_, l)| l)
}

/// A q-value as thousandths (`0.8` → 800); anything unreadable counts as 0.
fn parse_q(text: &str) -> u16 {
    let text = text.trim();
    match text.parse::<f32>() {
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u16,
        _ => 0,
    }
}

/// One language's messages.
pub struct Catalogue {
    bundle: FluentBundle<FluentResource>,
    ids: Vec<String>,
    json: String,
}

impl Catalogue {
    fn parse(locale: Locale) -> Catalogue {
        // A catalogue that does not parse is a build mistake the tests catch; at run time
        // the messages that did parse are still served.
        let resource = match FluentResource::try_new(locale.source().to_owned()) {
            Ok(r) => r,
            Err((r, errors)) => {
                eprintln!("latch-web: {} catalogue: {errors:?}", locale.tag());
                r
            }
        };
        let ids: Vec<String> = resource
            .entries()
            .filter_map(|e| match e {
                Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect();
        let tag: LanguageIdentifier = locale.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![tag]);
        // No bidi isolation marks around variables: both languages run left to right.
        bundle.set_use_isolating(false);
        if let Err(errors) = bundle.add_resource(resource) {
            eprintln!("latch-web: {} catalogue: {errors:?}", locale.tag());
        }
        let mut catalogue = Catalogue {
            bundle,
            ids,
            json: String::new(),
        };
        let all: serde_json::Map<String, serde_json::Value> = catalogue
            .ids
            .iter()
            .map(|id| (id.clone(), catalogue.get(id).into_owned().into()))
            .collect();
        catalogue.json = serde_json::Value::Object(all).to_string();
        catalogue
    }

    /// The message `id` (its variables shown as `{$name}`), or the id itself when the
    /// catalogue lacks it, so a missing message is visible rather than blank.
    pub fn get(&self, id: &str) -> Cow<'_, str> {
        self.format(id, None)
    }

    /// The message `id` with its variables filled in.
    pub fn format(&self, id: &str, args: Option<&FluentArgs>) -> Cow<'_, str> {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return Cow::Owned(id.to_owned());
        };
        // Missing variables are reported in `errors` and rendered as `{$name}`, which is what
        // the scripts expect to replace.
        let mut errors = Vec::new();
        self.bundle.format_pattern(pattern, args, &mut errors)
    }

    pub fn has(&self, id: &str) -> bool {
        self.bundle.get_message(id).is_some()
    }

    /// Every message id, in catalogue order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Every message as one JSON object, for the scripts.
    pub fn json(&self) -> &str {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_beats_the_cookie_and_the_cookie_beats_the_header() {
        assert_eq!(negotiate(Some("ja"), Some("en"), Some("en")), Locale::Ja);
        assert_eq!(negotiate(None, Some("ja"), Some("en")), Locale::Ja);
        assert_eq!(negotiate(Some("xx"), Some("ja"), None), Locale::Ja);
        assert_eq!(negotiate(None, None, None), Locale::En);
    }

    #[test]
    fn accept_language_is_read_by_quality() {
        assert_eq!(
            negotiate(None, None, Some("ja-JP,ja;q=0.9,en;q=0.8")),
            Locale::Ja
        );
        assert_eq!(
            negotiate(None, None, Some("fr, en;q=0.5, ja;q=0.7")),
            Locale::Ja
        );
        assert_eq!(negotiate(None, None, Some("en-GB, ja;q=0.9")), Locale::En);
        assert_eq!(negotiate(None, None, Some("ja;q=0, de")), Locale::En);
        assert_eq!(negotiate(None, None, Some("de, fr;q=0.9")), Locale::En);
        assert_eq!(negotiate(None, None, Some(";;q=x,,")), Locale::En);
    }

    #[test]
    fn both_catalogues_parse_and_hold_the_same_messages() {
        let en = Locale::En.catalogue();
        let ja = Locale::Ja.catalogue();
        for locale in Locale::ALL {
            FluentResource::try_new(locale.source().to_owned())
                .unwrap_or_else(|(_, e)| unreachable!("{} does not parse: {e:?}", locale.tag()));
        }
        assert!(en.ids().len() > 50, "{} messages", en.ids().len());
        let missing_ja: Vec<_> = en.ids().iter().filter(|id| !ja.has(id)).collect();
        let missing_en: Vec<_> = ja.ids().iter().filter(|id| !en.has(id)).collect();
        assert!(missing_ja.is_empty(), "not in ja.ftl: {missing_ja:?}");
        assert!(missing_en.is_empty(), "not in en.ftl: {missing_en:?}");
    }

    #[test]
    fn variables_are_filled_in_or_left_for_the_scripts() {
        let en = Locale::En.catalogue();
        let mut args = FluentArgs::new();
        args.set("seconds", 30);
        assert_eq!(
            en.format("error-too-many-attempts", Some(&args)),
            "Too many tries. Try again in 30 seconds."
        );
        assert!(en.get("error-too-many-attempts").contains("{$seconds}"));
        assert_eq!(en.get("no-such-message"), "no-such-message");
        let json: serde_json::Value = serde_json::from_str(en.json()).unwrap_or_default();
        assert_eq!(json["signin-title"], "Sign in");
    }
}
