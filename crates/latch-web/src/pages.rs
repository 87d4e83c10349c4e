//! The pages, each a template in `templates/` around `layout.html`.

use askama::Template;

use crate::i18n::{Catalogue, Locale};

/// Which page to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    SignIn,
    SignUp,
    Security,
    Admin,
    /// An app asks to know who the person is (OpenID Connect consent).
    Consent,
    /// An app asks for a stronger or more recent sign-in.
    StepUp,
    /// An app's sign-in request that cannot go on (see [`render_app_error`]).
    AppError,
}

/// The signed-in person, as the header shows them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub username: String,
    pub display_name: String,
    pub admin: bool,
}

/// What every page's layout needs.
struct Shell<'a> {
    locale: Locale,
    t: &'static Catalogue,
    rp_name: &'a str,
    viewer: Option<&'a Viewer>,
    /// The page's title message id and script name.
    title: &'static str,
    script: &'static str,
    /// The URL path, for the language switch's links.
    path: &'static str,
}

impl Shell<'_> {
    fn t(&self, id: &str) -> String {
        self.t.get(id).into_owned()
    }

    fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    /// The switch: every other language, with its name in that language.
    fn languages(&self) -> Vec<(&'static str, String, bool)> {
        Locale::ALL
            .into_iter()
            .map(|l| {
                (
                    l.tag(),
                    l.catalogue().get("language-name").into_owned(),
                    l == self.locale,
                )
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignIn<'a> {
    s: Shell<'a>,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUp<'a> {
    s: Shell<'a>,
}

#[derive(Template)]
#[template(path = "security.html")]
struct Security<'a> {
    s: Shell<'a>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct Admin<'a> {
    s: Shell<'a>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct Consent<'a> {
    s: Shell<'a>,
}

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUp<'a> {
    s: Shell<'a>,
}

#[derive(Template)]
#[template(path = "app_error.html")]
struct AppError<'a> {
    s: Shell<'a>,
    detail: &'a str,
}

/// The page for an app's sign-in request that cannot go on (an unknown app, a redirect URI it
/// did not register, a request that expired): what went wrong, as the server said it.
pub fn render_app_error(
    locale: Locale,
    rp_name: &str,
    viewer: Option<&Viewer>,
    detail: &str,
) -> String {
    AppError {
        s: shell(Page::AppError, locale, rp_name, viewer),
        detail,
    }
    .render()
    .unwrap_or_else(|e| {
        eprintln!("latch-web: rendering the app error page: {e}");
        String::from("<!doctype html><title>Error</title>")
    })
}

fn shell<'a>(
    page: Page,
    locale: Locale,
    rp_name: &'a str,
    viewer: Option<&'a Viewer>,
) -> Shell<'a> {
    let (title, script, path) = match page {
        Page::SignIn => ("signin-title", "signin", "/"),
        Page::SignUp => ("signup-title", "signup", "/signup"),
        Page::Security => ("security-title", "security", "/security"),
        Page::Admin => ("admin-title", "admin", "/admin"),
        Page::Consent => ("consent-title", "consent", "/oauth2/consent"),
        Page::StepUp => ("step-up-title", "step_up", "/oauth2/step-up"),
        Page::AppError => ("app-error-title", "common", "/"),
    };
    Shell {
        locale,
        t: locale.catalogue(),
        rp_name,
        viewer,
        title,
        script,
        path,
    }
}

/// The page as HTML.
pub fn render(page: Page, locale: Locale, rp_name: &str, viewer: Option<&Viewer>) -> String {
    let s = shell(page, locale, rp_name, viewer);
    let rendered = match page {
        Page::SignIn => SignIn { s }.render(),
        Page::SignUp => SignUp { s }.render(),
        Page::Security => Security { s }.render(),
        Page::Admin => Admin { s }.render(),
        Page::Consent => Consent { s }.render(),
        Page::StepUp => StepUp { s }.render(),
        Page::AppError => AppError { s, detail: "" }.render(),
    };
    rendered.unwrap_or_else(|e| {
        eprintln!("latch-web: rendering {page:?}: {e}");
        String::from("<!doctype html><title>Error</title>")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::quoted_after;

    const PAGES: [Page; 7] = [
        Page::SignIn,
        Page::SignUp,
        Page::Security,
        Page::Admin,
        Page::Consent,
        Page::StepUp,
        Page::AppError,
    ];

    fn viewer() -> Viewer {
        Viewer {
            username: "ana<script>".into(),
            display_name: "Ana".into(),
            admin: true,
        }
    }

    #[test]
    fn every_message_a_template_asks_for_is_in_every_catalogue() {
        let templates = [
            include_str!("../templates/layout.html"),
            include_str!("../templates/signin.html"),
            include_str!("../templates/signup.html"),
            include_str!("../templates/security.html"),
            include_str!("../templates/admin.html"),
            include_str!("../templates/consent.html"),
            include_str!("../templates/step_up.html"),
            include_str!("../templates/app_error.html"),
        ];
        for text in templates {
            for id in quoted_after(text, "s.t(\"") {
                for locale in Locale::ALL {
                    assert!(
                        locale.catalogue().has(id),
                        "{id} not in {}.ftl",
                        locale.tag()
                    );
                }
            }
        }
    }

    #[test]
    fn pages_render_in_both_languages_with_no_inline_script_or_style() {
        for page in PAGES {
            for locale in Locale::ALL {
                let v = viewer();
                let html = render(page, locale, "Latch", Some(&v));
                assert!(html.starts_with("<!doctype html>"), "{page:?}");
                assert!(html.contains(&format!("<html lang=\"{}\"", locale.tag())));
                assert!(
                    !html.contains("<script>") && !html.contains("style="),
                    "{page:?}"
                );
                assert!(!html.contains("onclick") && !html.contains("javascript:"));
                assert!(html.contains("type=\"module\" src=\"/assets/"), "{page:?}");
                assert!(!html.contains("ana<script>"), "names are escaped");
            }
        }
    }

    #[test]
    fn the_app_error_page_says_what_went_wrong_escaped() {
        let html = render_app_error(
            Locale::En,
            "Latch",
            None,
            "\"https://evil.example/<b>\" is not a redirect URI",
        );
        assert!(html.contains("id=\"app-error-detail\""));
        assert!(html.contains("is not a redirect URI"));
        let detail = html.split("app-error-detail").nth(1).unwrap_or_default();
        assert!(!detail.contains("<b>"), "{detail}");
    }

    #[test]
    fn the_sign_in_page_offers_passkeys_in_autofill() {
        let html = render(Page::SignIn, Locale::En, "Latch", None);
        assert!(html.contains("autocomplete=\"username webauthn\""));
        assert!(html.contains("data-messages=\""));
        let ja = render(Page::SignIn, Locale::Ja, "Latch", None);
        assert!(ja.contains("サインイン"));
    }
}
