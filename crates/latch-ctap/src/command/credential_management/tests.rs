//! authenticatorCredentialManagement: every subcommand and status path, exact values.

use super::{
    DELETE_CREDENTIAL, ENUMERATE_CREDENTIALS_BEGIN, ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL,
    ENUMERATE_RPS_BEGIN, ENUMERATE_RPS_GET_NEXT_RP, GET_CREDS_METADATA, UPDATE_USER_INFORMATION,
};
use crate::command::testing::*;
use crate::command::{CREDENTIAL_MANAGEMENT, CREDENTIAL_MANAGEMENT_PREVIEW};
use crate::credential::{Alg, PrivateKey};
use crate::store::{CredProtect, CredentialOptions, StoredCredential, Write};

const CM: Permissions = Permissions::CREDENTIAL_MANAGEMENT;

type Token = (PinUvAuthProtocol, [u8; 32]);

/// A discoverable credential for `rp` and `user`, made through MakeCredential (no PIN yet).
fn resident(auth: &mut Authenticator, env: &mut TestEnv, rp: &str, user: &[u8]) -> Made {
    env.advance(1);
    let mut params = mc_params(-7);
    params.retain(|(k, _)| k != &int(2) && k != &int(3));
    params.push(int_key(2, Value::Map(vec![text_key("id", text(rp))])));
    params.push(int_key(
        3,
        Value::Map(vec![
            text_key("id", bytes(user)),
            text_key("name", text("alice")),
            text_key("displayName", text("Alice")),
        ]),
    ));
    params.push(int_key(7, options(&[("rk", true)])));
    make(auth, env, Value::Map(params))
}

/// subCommand || CBOR(subCommandParams), authenticated with `token`.
fn request(sub: u64, params: Option<Value>, token: Option<&Token>) -> Value {
    let mut map = vec![int_key(1, int(i64::try_from(sub).unwrap()))];
    let mut message = vec![u8::try_from(sub).unwrap()];
    if let Some(params) = params {
        message.extend(encode(&params).unwrap());
        map.push(int_key(2, params));
    }
    if let Some((protocol, key)) = token {
        map.push(int_key(3, int(i64::from(protocol.wire()))));
        map.push(int_key(4, auth_param(*protocol, key, &message)));
    }
    Value::Map(map)
}

fn cm(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    sub: u64,
    params: Option<Value>,
    token: &Token,
) -> Result<Vec<(Value, Value)>, u8> {
    call(
        auth,
        env,
        CREDENTIAL_MANAGEMENT,
        Some(request(sub, params, Some(token))),
    )
}

fn cm_empty(
    auth: &mut Authenticator,
    env: &mut TestEnv,
    sub: u64,
    params: Option<Value>,
    token: &Token,
) -> Result<(), u8> {
    call_empty(
        auth,
        env,
        CREDENTIAL_MANAGEMENT,
        Some(request(sub, params, Some(token))),
    )
}

fn next(auth: &mut Authenticator, env: &mut TestEnv, sub: u64) -> Result<Vec<(Value, Value)>, u8> {
    call(
        auth,
        env,
        CREDENTIAL_MANAGEMENT,
        Some(request(sub, None, None)),
    )
}

fn rp_hash_params(rp: &str) -> Value {
    Value::Map(vec![int_key(1, bytes(&rp_id_hash(rp)))])
}

fn descriptor(id: &[u8]) -> Value {
    Value::Map(vec![
        text_key("id", bytes(id)),
        text_key("type", text("public-key")),
    ])
}

fn user(id: &[u8], fields: &[(&str, &str)]) -> Value {
    let mut map = vec![text_key("id", bytes(id))];
    map.extend(fields.iter().map(|(k, v)| text_key(k, text(v))));
    Value::Map(map)
}

#[test]
fn metadata_of_an_empty_store_is_zero_and_capacity() {
    let (mut auth, mut env) = device();
    let token = pin_token(&mut auth, &mut env, CM, None);
    let response = cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &token).unwrap();
    assert_eq!(response, vec![int_key(1, int(0)), int_key(2, int(16))]);
}

#[test]
fn metadata_counts_discoverable_credentials_only() {
    let (mut auth, mut env) = device();
    resident(&mut auth, &mut env, "a.example", b"u1");
    resident(&mut auth, &mut env, "b.example", b"u2");
    make(&mut auth, &mut env, Value::Map(mc_params(-7)));
    let token = pin_token(&mut auth, &mut env, CM, None);
    let response = cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &token).unwrap();
    assert_eq!(response, vec![int_key(1, int(2)), int_key(2, int(14))]);
    // The FIDO_2_1_PRE command byte is the same command.
    let response = call(
        &mut auth,
        &mut env,
        CREDENTIAL_MANAGEMENT_PREVIEW,
        Some(request(GET_CREDS_METADATA, None, Some(&token))),
    )
    .unwrap();
    assert_eq!(response, vec![int_key(1, int(2)), int_key(2, int(14))]);
}

#[test]
fn pin_uv_auth_errors() {
    let (mut auth, mut env) = device();
    // No PIN, no token: a param cannot verify.
    let bogus = (PinUvAuthProtocol::Two, [7u8; 32]);
    assert_eq!(
        cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &bogus).err(),
        Some(0x33)
    );
    let token = pin_token(&mut auth, &mut env, CM, None);
    let send = |auth: &mut Authenticator, env: &mut TestEnv, map: Vec<(Value, Value)>| {
        call(auth, env, CREDENTIAL_MANAGEMENT, Some(Value::Map(map))).err()
    };
    let param = auth_param(token.0, &token.1, &[0x01]);
    // pinUvAuthParam missing → PUAT_REQUIRED, even with the protocol.
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            vec![int_key(1, int(1)), int_key(3, int(2))]
        ),
        Some(0x36)
    );
    // pinUvAuthProtocol missing → MISSING_PARAMETER; unsupported → INVALID_PARAMETER.
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            vec![int_key(1, int(1)), int_key(4, param.clone())]
        ),
        Some(0x14)
    );
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            vec![
                int_key(1, int(1)),
                int_key(3, int(3)),
                int_key(4, param.clone())
            ]
        ),
        Some(0x02)
    );
    // Right token, wrong message (another subcommand) or wrong protocol → PIN_AUTH_INVALID.
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            vec![
                int_key(1, int(2)),
                int_key(3, int(2)),
                int_key(4, param.clone())
            ]
        ),
        Some(0x33)
    );
    assert_eq!(
        send(
            &mut auth,
            &mut env,
            vec![
                int_key(1, int(1)),
                int_key(3, int(1)),
                int_key(4, param.clone())
            ]
        ),
        Some(0x33)
    );
    // The right param is accepted.
    assert!(send(
        &mut auth,
        &mut env,
        vec![int_key(1, int(1)), int_key(3, int(2)), int_key(4, param)]
    )
    .is_none());
    // The token expires 30 s after it was minted.
    env.advance(30_000);
    assert_eq!(
        cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &token).err(),
        Some(0x33)
    );
    // A token without cm → UNAUTHORIZED_PERMISSION.
    let lbw = token_with_pin(&mut auth, &mut env, Permissions::LARGE_BLOB_WRITE, None);
    assert_eq!(
        cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &lbw).err(),
        Some(0x40)
    );
    // Protocol one tokens work too (16-byte params), but not under protocol two.
    let one = token_with_pin_protocol(&mut auth, &mut env, PinUvAuthProtocol::One, CM, None);
    let response = cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &one).unwrap();
    assert_eq!(response, vec![int_key(1, int(0)), int_key(2, int(16))]);
    let as_two = (PinUvAuthProtocol::Two, one.1);
    assert_eq!(
        cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &as_two).err(),
        Some(0x33)
    );
}

#[test]
fn request_shape_errors() {
    let (mut auth, mut env) = device();
    let token = pin_token(&mut auth, &mut env, CM, None);
    // No subCommand.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            CREDENTIAL_MANAGEMENT,
            Some(Value::Map(vec![]))
        )
        .err(),
        Some(0x14)
    );
    // Wrong types.
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            CREDENTIAL_MANAGEMENT,
            Some(Value::Map(vec![int_key(1, text("one"))]))
        )
        .err(),
        Some(0x11)
    );
    assert_eq!(
        call(
            &mut auth,
            &mut env,
            CREDENTIAL_MANAGEMENT,
            Some(Value::Map(vec![int_key(1, int(4)), int_key(2, int(1))]))
        )
        .err(),
        Some(0x11)
    );
    // Unknown subcommands, before any PIN check.
    for sub in [0x00, 0x08, 0xFF] {
        assert_eq!(cm(&mut auth, &mut env, sub, None, &token).err(), Some(0x3E));
        assert_eq!(next(&mut auth, &mut env, sub).err(), Some(0x3E));
    }
}

#[test]
fn rp_bound_tokens_manage_their_rp_only() {
    let (mut auth, mut env) = device();
    let a = resident(&mut auth, &mut env, "a.example", b"u1");
    let b = resident(&mut auth, &mut env, "b.example", b"u2");
    pin_token(&mut auth, &mut env, CM, Some("a.example"));
    let token = token_with_pin(&mut auth, &mut env, CM, Some("a.example"));
    // The whole store needs an unbound token.
    assert_eq!(
        cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &token).err(),
        Some(0x33)
    );
    assert_eq!(
        cm(&mut auth, &mut env, ENUMERATE_RPS_BEGIN, None, &token).err(),
        Some(0x33)
    );
    // Other RPs' credentials are out of reach.
    let other = Some(rp_hash_params("b.example"));
    assert_eq!(
        cm(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_BEGIN,
            other,
            &token
        )
        .err(),
        Some(0x33)
    );
    let delete_b = Value::Map(vec![int_key(2, descriptor(&b.id))]);
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            DELETE_CREDENTIAL,
            Some(delete_b),
            &token
        ),
        Err(0x33)
    );
    let update_b = Value::Map(vec![
        int_key(2, descriptor(&b.id)),
        int_key(3, user(b"u2", &[("name", "mallory")])),
    ]);
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            UPDATE_USER_INFORMATION,
            Some(update_b),
            &token
        ),
        Err(0x33)
    );
    assert_eq!(env.store.count(), 2);
    assert_eq!(
        env.store.credential(&b.id).unwrap().user_name.as_deref(),
        Some("alice")
    );
    // Its own RP's are not.
    let own = Some(rp_hash_params("a.example"));
    let response = cm(
        &mut auth,
        &mut env,
        ENUMERATE_CREDENTIALS_BEGIN,
        own,
        &token,
    )
    .unwrap();
    assert_eq!(get(&response, 9), &int(1));
    let update_a = Value::Map(vec![
        int_key(2, descriptor(&a.id)),
        int_key(3, user(b"u1", &[("name", "bob")])),
    ]);
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            UPDATE_USER_INFORMATION,
            Some(update_a),
            &token
        ),
        Ok(())
    );
    let delete_a = Value::Map(vec![int_key(2, descriptor(&a.id))]);
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            DELETE_CREDENTIAL,
            Some(delete_a),
            &token
        ),
        Ok(())
    );
    assert_eq!(env.store.count(), 1);
}

#[test]
fn enumerate_rps() {
    let (mut auth, mut env) = device();
    let token = pin_token(&mut auth, &mut env, CM, None);
    // None stored → NO_CREDENTIALS.
    assert_eq!(
        cm(&mut auth, &mut env, ENUMERATE_RPS_BEGIN, None, &token).err(),
        Some(0x2E)
    );
    let (mut auth, mut env) = device();
    resident(&mut auth, &mut env, "b.example", b"u1");
    resident(&mut auth, &mut env, "a.example", b"u2");
    resident(&mut auth, &mut env, "b.example", b"u3");
    resident(&mut auth, &mut env, "c.example", b"u4");
    let token = pin_token(&mut auth, &mut env, CM, None);
    let rp = |id: &str| {
        vec![
            int_key(3, Value::Map(vec![text_key("id", text(id))])),
            int_key(4, bytes(&rp_id_hash(id))),
        ]
    };
    let first = cm(&mut auth, &mut env, ENUMERATE_RPS_BEGIN, None, &token).unwrap();
    let mut expected = rp("a.example");
    expected.push(int_key(5, int(3)));
    assert_eq!(first, expected);
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP),
        Ok(rp("b.example"))
    );
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP),
        Ok(rp("c.example"))
    );
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP).err(),
        Some(0x30)
    );
}

#[test]
fn get_next_needs_the_matching_begin_just_before() {
    let (mut auth, mut env) = device();
    resident(&mut auth, &mut env, "a.example", b"u1");
    resident(&mut auth, &mut env, "a.example", b"u2");
    resident(&mut auth, &mut env, "b.example", b"u3");
    let token = pin_token(&mut auth, &mut env, CM, None);
    // No Begin at all.
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP).err(),
        Some(0x30)
    );
    assert_eq!(
        next(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL
        )
        .err(),
        Some(0x30)
    );
    // Another command in between.
    cm(&mut auth, &mut env, ENUMERATE_RPS_BEGIN, None, &token).unwrap();
    call(&mut auth, &mut env, GET_INFO, None).unwrap();
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP).err(),
        Some(0x30)
    );
    // Another subcommand in between.
    cm(&mut auth, &mut env, ENUMERATE_RPS_BEGIN, None, &token).unwrap();
    cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &token).unwrap();
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP).err(),
        Some(0x30)
    );
    // The other kind of GetNext, which also ends the enumeration.
    cm(&mut auth, &mut env, ENUMERATE_RPS_BEGIN, None, &token).unwrap();
    assert_eq!(
        next(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL
        )
        .err(),
        Some(0x30)
    );
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP).err(),
        Some(0x30)
    );
    let params = Some(rp_hash_params("a.example"));
    cm(
        &mut auth,
        &mut env,
        ENUMERATE_CREDENTIALS_BEGIN,
        params,
        &token,
    )
    .unwrap();
    assert_eq!(
        next(&mut auth, &mut env, ENUMERATE_RPS_GET_NEXT_RP).err(),
        Some(0x30)
    );
    // A failed request ends it too.
    let params = Some(rp_hash_params("a.example"));
    cm(
        &mut auth,
        &mut env,
        ENUMERATE_CREDENTIALS_BEGIN,
        params,
        &token,
    )
    .unwrap();
    assert_eq!(call(&mut auth, &mut env, 0x55, None).err(), Some(0x01));
    assert_eq!(
        next(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL
        )
        .err(),
        Some(0x30)
    );
    // A single result leaves nothing to continue.
    let params = Some(rp_hash_params("b.example"));
    cm(
        &mut auth,
        &mut env,
        ENUMERATE_CREDENTIALS_BEGIN,
        params,
        &token,
    )
    .unwrap();
    assert_eq!(
        next(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL
        )
        .err(),
        Some(0x30)
    );
}

#[test]
fn enumerate_credentials_newest_first_with_every_field() {
    let (mut auth, mut env) = device();
    let older = resident(&mut auth, &mut env, RP, b"u1");
    let newer = resident(&mut auth, &mut env, RP, b"u2");
    resident(&mut auth, &mut env, "other.example", b"u3");
    let token = pin_token(&mut auth, &mut env, CM, None);
    let expected = |made: &Made, user_id: &[u8]| {
        vec![
            int_key(
                6,
                Value::Map(vec![
                    text_key("id", bytes(user_id)),
                    text_key("name", text("alice")),
                    text_key("displayName", text("Alice")),
                ]),
            ),
            int_key(7, descriptor(&made.id)),
            int_key(8, Value::Map(made.cose.clone())),
            // credProtect is always returned, level 1 by default.
            int_key(10, int(1)),
        ]
    };
    let params = Some(rp_hash_params(RP));
    let first = cm(
        &mut auth,
        &mut env,
        ENUMERATE_CREDENTIALS_BEGIN,
        params,
        &token,
    )
    .unwrap();
    let mut with_total = expected(&newer, b"u2");
    with_total.insert(3, int_key(9, int(2)));
    assert_eq!(first, with_total);
    assert_eq!(
        next(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL
        ),
        Ok(expected(&older, b"u1"))
    );
    assert_eq!(
        next(
            &mut auth,
            &mut env,
            ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL
        )
        .err(),
        Some(0x30)
    );
}

#[test]
fn enumerate_credentials_returns_cred_protect_and_large_blob_key() {
    let (mut auth, mut env) = device();
    let key = PrivateKey::generate(Alg::Ed25519, &mut env.rng).unwrap();
    let id = vec![0x1D; 16];
    env.store
        .apply(&[Write::PutCredential(StoredCredential {
            id: id.clone(),
            rp_id: RP.to_owned(),
            rp_id_hash: rp_id_hash(RP),
            user_id: b"u1".to_vec(),
            user_name: None,
            user_display_name: None,
            private_key: key.to_material().unwrap(),
            created_ms: 0,
            options: CredentialOptions {
                cred_protect: CredProtect::UvRequired,
                hmac_secret: false,
                large_blob_key: true,
                cred_blob: None,
                cred_random: None,
            },
        })])
        .unwrap();
    let token = pin_token(&mut auth, &mut env, CM, None);
    let params = Some(rp_hash_params(RP));
    let response = cm(
        &mut auth,
        &mut env,
        ENUMERATE_CREDENTIALS_BEGIN,
        params,
        &token,
    )
    .unwrap();
    let large_blob_key = MasterKey::new([0x4B; 32]).large_blob_key(&id);
    assert_eq!(
        response,
        vec![
            int_key(6, Value::Map(vec![text_key("id", bytes(b"u1"))])),
            int_key(7, descriptor(&id)),
            int_key(8, key.cose_public_key()),
            int_key(9, int(1)),
            int_key(10, int(3)),
            int_key(11, bytes(&large_blob_key)),
        ]
    );
}

#[test]
fn enumerate_credentials_parameter_errors() {
    let (mut auth, mut env) = device();
    resident(&mut auth, &mut env, RP, b"u1");
    let token = pin_token(&mut auth, &mut env, CM, None);
    let begin = ENUMERATE_CREDENTIALS_BEGIN;
    assert_eq!(
        cm(&mut auth, &mut env, begin, None, &token).err(),
        Some(0x14)
    );
    let empty = Some(Value::Map(vec![]));
    assert_eq!(
        cm(&mut auth, &mut env, begin, empty, &token).err(),
        Some(0x14)
    );
    let short = Some(Value::Map(vec![int_key(1, bytes(&[1; 31]))]));
    assert_eq!(
        cm(&mut auth, &mut env, begin, short, &token).err(),
        Some(0x02)
    );
    let none = Some(rp_hash_params("nobody.example"));
    assert_eq!(
        cm(&mut auth, &mut env, begin, none, &token).err(),
        Some(0x2E)
    );
    // The params are authenticated: a param over other params fails.
    let mut forged = request(begin, Some(rp_hash_params("x.example")), Some(&token));
    if let Value::Map(map) = &mut forged {
        map.retain(|(k, _)| k != &int(2));
        map.push(int_key(2, rp_hash_params(RP)));
    }
    assert_eq!(
        call(&mut auth, &mut env, CREDENTIAL_MANAGEMENT, Some(forged)).err(),
        Some(0x33)
    );
}

#[test]
fn delete_credential() {
    let (mut auth, mut env) = device();
    let gone = resident(&mut auth, &mut env, RP, b"u1");
    let kept = resident(&mut auth, &mut env, RP, b"u2");
    let token = pin_token(&mut auth, &mut env, CM, None);
    let params = |id: &[u8]| Some(Value::Map(vec![int_key(2, descriptor(id))]));
    // Missing params → MISSING_PARAMETER.
    assert_eq!(
        cm_empty(&mut auth, &mut env, DELETE_CREDENTIAL, None, &token),
        Err(0x14)
    );
    let no_id = Some(Value::Map(vec![int_key(1, bytes(&rp_id_hash(RP)))]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, DELETE_CREDENTIAL, no_id, &token),
        Err(0x14)
    );
    // A failed write deletes nothing.
    env.store.fail_writes = true;
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            DELETE_CREDENTIAL,
            params(&gone.id),
            &token
        ),
        Err(0x7F)
    );
    env.store.fail_writes = false;
    assert_eq!(env.store.count(), 2);
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            DELETE_CREDENTIAL,
            params(&gone.id),
            &token
        ),
        Ok(())
    );
    assert_eq!(env.store.count(), 1);
    assert!(env.store.credential(&kept.id).is_some());
    // Gone now, and unknown IDs → NO_CREDENTIALS.
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            DELETE_CREDENTIAL,
            params(&gone.id),
            &token
        ),
        Err(0x2E)
    );
    assert_eq!(
        cm_empty(
            &mut auth,
            &mut env,
            DELETE_CREDENTIAL,
            params(&[9; 16]),
            &token
        ),
        Err(0x2E)
    );
    let metadata = cm(&mut auth, &mut env, GET_CREDS_METADATA, None, &token).unwrap();
    assert_eq!(metadata, vec![int_key(1, int(1)), int_key(2, int(15))]);
}

#[test]
fn update_user_information() {
    let (mut auth, mut env) = device();
    let made = resident(&mut auth, &mut env, RP, b"u1");
    let token = pin_token(&mut auth, &mut env, CM, None);
    let params = |user: Value| {
        Some(Value::Map(vec![
            int_key(2, descriptor(&made.id)),
            int_key(3, user),
        ]))
    };
    let update = UPDATE_USER_INFORMATION;
    // A new name; the absent displayName is removed.
    let renamed = params(user(b"u1", &[("name", "bob")]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, renamed, &token),
        Ok(())
    );
    let stored = env.store.credential(&made.id).unwrap();
    assert_eq!(stored.user_name.as_deref(), Some("bob"));
    assert_eq!(stored.user_display_name, None);
    assert_eq!(stored.user_id, b"u1");
    // An empty field is removed too.
    let emptied = params(user(b"u1", &[("name", ""), ("displayName", "Bob")]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, emptied, &token),
        Ok(())
    );
    let stored = env.store.credential(&made.id).unwrap();
    assert_eq!(stored.user_name, None);
    assert_eq!(stored.user_display_name.as_deref(), Some("Bob"));
    // The rest of the credential is untouched, and it still signs.
    assert_eq!(env.store.count(), 1);
    let response = call(
        &mut auth,
        &mut env,
        GET_ASSERTION,
        Some(Value::Map(ga_params(None))),
    );
    assert_eq!(
        get(&response.unwrap(), 4),
        &Value::Map(vec![text_key("id", bytes(b"u1"))])
    );
    // Another user.id → INVALID_PARAMETER, nothing changes.
    let other = params(user(b"u2", &[("name", "eve")]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, other, &token),
        Err(0x02)
    );
    assert_eq!(env.store.credential(&made.id).unwrap(), stored);
    // Missing pieces.
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, None, &token),
        Err(0x14)
    );
    let no_user = Some(Value::Map(vec![int_key(2, descriptor(&made.id))]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, no_user, &token),
        Err(0x14)
    );
    let no_user_id = params(Value::Map(vec![text_key("name", text("x"))]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, no_user_id, &token),
        Err(0x14)
    );
    let no_id = Some(Value::Map(vec![int_key(3, user(b"u1", &[]))]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, no_id, &token),
        Err(0x14)
    );
    // Unknown credential.
    let unknown = Some(Value::Map(vec![
        int_key(2, descriptor(&[9; 16])),
        int_key(3, user(b"u1", &[])),
    ]));
    assert_eq!(
        cm_empty(&mut auth, &mut env, update, unknown, &token),
        Err(0x2E)
    );
}
