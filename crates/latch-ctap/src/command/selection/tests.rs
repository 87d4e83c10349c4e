//! authenticatorSelection: presence approved, denied, timed out.

use crate::command::testing::*;
use crate::command::SELECTION;

#[test]
fn selection_answers_with_the_touch() {
    let (mut auth, mut env) = device();
    env.presence
        .script
        .extend([Presence::Approved, Presence::Denied, Presence::Timeout]);
    // An empty CTAP2_OK, no response map.
    assert_eq!(auth.handle(&mut env.env(), &[SELECTION]), vec![0x00]);
    assert_eq!(call_empty(&mut auth, &mut env, SELECTION, None), Err(0x27));
    assert_eq!(call_empty(&mut auth, &mut env, SELECTION, None), Err(0x2F));
    assert_eq!(
        env.presence.requests,
        vec![(String::new(), "select".to_owned()); 3]
    );
}
