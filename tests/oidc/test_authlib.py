"""Unmodified authlib (PyPI) against a running `latch serve`: discovery, the code flow with
PKCE under client_secret_post and private_key_jwt, the ID token validated through the JWKS,
userinfo, refresh with rotation and reuse detection, and RP-initiated logout.

Run by scripts/test (which creates the virtual environment and builds the binary):
    LATCH_BIN=target/debug/latch python -m unittest discover -s tests/oidc
"""

import json
import os
import secrets
import socket
import subprocess
import tempfile
import time
import unittest
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken

LATCH = os.environ.get("LATCH_BIN", "target/debug/latch")
SECRET = "py-secret-" + "0123456789abcdef" * 2
CALLBACK = "https://app.example/callback"
BYE = "https://app.example/bye"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    """`latch serve` on a database of its own, with two registered clients."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="latch-authlib-")
        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "svc-1"})
        public = self.key.as_dict(is_private=False)
        clients = os.path.join(self.dir, "clients.toml")
        with open(clients, "w") as f:
            f.write(
                f"""
[[client]]
id = "py"
name = "Python app"
authMethod = "client_secret_post"
secret = "{SECRET}"
redirectUris = ["{CALLBACK}"]
postLogoutRedirectUris = ["{BYE}"]

[[client]]
id = "svc"
name = "Service"
authMethod = "private_key_jwt"
redirectUris = ["{CALLBACK}"]
idTokenSignedResponseAlg = "ES256"
jwks = '{json.dumps({"keys": [public]})}'
"""
            )
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [LATCH, "serve", "--listen", f"127.0.0.1:{port}",
             "--db", f"sqlite://{self.dir}/latch.db", "--rp-id", "localhost",
             "--origin", f"http://localhost:{port}", "--issuer", self.base,
             "--oidc-clients", clients],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError("latch serve did not start")
        self.config = requests.get(f"{self.base}/.well-known/openid-configuration").json()
        self.jwks = JsonWebKey.import_key_set(requests.get(self.config["jwks_uri"]).json())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Person:
    """The person's browser: a cookie jar over the same API the pages use."""

    def __init__(self, provider: Provider, username: str):
        self.provider = provider
        self.web = requests.Session()
        r = self.web.post(f"{provider.base}/api/v1/signup/password",
                          json={"username": username, "password": "correct horse battery staple"})
        r.raise_for_status()

    def authorize(self, url: str) -> str:
        """Follows the request to the URL it sends back to the app, allowing it if asked."""
        to = self.web.get(url, allow_redirects=False).headers["location"]
        if to.startswith("/oauth2/consent?request="):
            request = to.split("=", 1)[1]
            r = self.web.post(f"{self.provider.base}/api/v1/oauth2/requests/{request}/consent",
                              json={"allow": True})
            r.raise_for_status()
            to = r.json()["redirect"]
        return to


def validated(provider: Provider, id_token: str, client_id: str, nonce=None):
    claims = jwt.decode(
        id_token, provider.jwks, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": provider.base}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate()
    return claims


class AuthlibTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.provider = Provider()

    @classmethod
    def tearDownClass(cls):
        cls.provider.stop()

    def client(self, **kw):
        return OAuth2Session(
            "py", SECRET, scope="openid profile", redirect_uri=CALLBACK,
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_post", **kw)

    def sign_in(self, person: Person, client: OAuth2Session):
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = client.create_authorization_url(
            self.provider.config["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
        back = person.authorize(url)
        self.assertTrue(back.startswith(CALLBACK), back)
        self.assertEqual(parse_qs(urlsplit(back).query)["state"], [state])
        token = client.fetch_token(self.provider.config["token_endpoint"],
                                   authorization_response=back, code_verifier=verifier)
        return token, nonce

    def test_code_flow_userinfo_refresh_and_logout(self):
        p = self.provider
        person = Person(p, "ana")
        client = self.client()
        token, nonce = self.sign_in(person, client)
        claims = validated(p, token["id_token"], "py", nonce)
        self.assertEqual(claims["acr"], "urn:latch:acr:password")
        self.assertEqual(claims["amr"], ["pwd"])
        self.assertEqual(claims["preferred_username"], "ana")

        me = client.get(p.config["userinfo_endpoint"]).json()
        self.assertEqual(me["sub"], claims["sub"])

        old = token["refresh_token"]
        fresh = client.refresh_token(p.config["token_endpoint"], refresh_token=old)
        self.assertNotEqual(fresh["refresh_token"], old)
        validated(p, fresh["id_token"], "py")
        with self.assertRaises(OAuthError) as reused:
            client.refresh_token(p.config["token_endpoint"], refresh_token=old)
        self.assertEqual(reused.exception.error, "invalid_grant")
        with self.assertRaises(OAuthError):
            client.refresh_token(p.config["token_endpoint"], refresh_token=fresh["refresh_token"])

        token, _ = self.sign_in(person, self.client())
        r = person.web.get(p.config["end_session_endpoint"], allow_redirects=False, params={
            "id_token_hint": token["id_token"], "post_logout_redirect_uri": BYE, "state": "bye-1"})
        self.assertEqual(r.status_code, 303)
        self.assertEqual(r.headers["location"], f"{BYE}?state=bye-1")
        self.assertEqual(person.web.get(f"{p.base}/api/v1/me").status_code, 401)
        with self.assertRaises(OAuthError):
            self.client().refresh_token(p.config["token_endpoint"], refresh_token=token["refresh_token"])

    def test_refusals_carry_oauth_errors(self):
        p = self.provider
        person = Person(p, "bo")
        wrong = OAuth2Session("py", "not-the-secret-" + "x" * 20, scope="openid", redirect_uri=CALLBACK,
                              code_challenge_method="S256", token_endpoint_auth_method="client_secret_post")
        verifier = secrets.token_urlsafe(48)
        url, _ = wrong.create_authorization_url(p.config["authorization_endpoint"], code_verifier=verifier)
        back = person.authorize(url)
        with self.assertRaises(OAuthError) as refused:
            wrong.fetch_token(p.config["token_endpoint"], authorization_response=back, code_verifier=verifier)
        self.assertEqual(refused.exception.error, "invalid_client")
        # The right secret but the wrong verifier: invalid_grant.
        with self.assertRaises(OAuthError) as refused:
            self.client().fetch_token(p.config["token_endpoint"], authorization_response=back,
                                      code_verifier=secrets.token_urlsafe(48))
        self.assertEqual(refused.exception.error, "invalid_grant")
        # A stronger sign-in than a password, without interaction: no code.
        url, _ = self.client().create_authorization_url(
            p.config["authorization_endpoint"], code_verifier=verifier, acr_values="phr", prompt="none")
        back = person.authorize(url)
        self.assertEqual(parse_qs(urlsplit(back).query)["error"], ["interaction_required"])

    def test_private_key_jwt(self):
        p = self.provider
        person = Person(p, "cy")
        endpoint = p.config["token_endpoint"]
        client = OAuth2Session("svc", p.key.as_pem(is_private=True), scope="openid", redirect_uri=CALLBACK,
                               code_challenge_method="S256", token_endpoint_auth_method=PrivateKeyJWT(endpoint))
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, _ = client.create_authorization_url(p.config["authorization_endpoint"], nonce=nonce,
                                                 code_verifier=verifier)
        back = person.authorize(url)
        token = client.fetch_token(endpoint, authorization_response=back, code_verifier=verifier)
        claims = validated(p, token["id_token"], "svc", nonce)
        self.assertEqual(claims["aud"], "svc")


if __name__ == "__main__":
    unittest.main()
