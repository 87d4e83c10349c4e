//! Shamir's secret sharing over the ristretto255 scalar field (curve25519-dalek's `Scalar` does
//! the field arithmetic): a secret becomes n shares at x = 1..n, any t of which give it back by
//! Lagrange interpolation at 0, while fewer than t say nothing about it.

use curve25519_dalek::Scalar;
use rand_core::CryptoRngCore;

use crate::error::VaultError;

pub(crate) fn random_scalar(rng: &mut impl CryptoRngCore) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// Splits `secret` into `n` shares, `(x, f(x))` for x = 1..=n, with a random polynomial of
/// degree t − 1 whose constant term is the secret.
pub(crate) fn split(
    secret: &Scalar,
    t: usize,
    n: usize,
    rng: &mut impl CryptoRngCore,
) -> Vec<(u8, Scalar)> {
    let coefficients: Vec<Scalar> = std::iter::once(*secret)
        .chain((1..t).map(|_| random_scalar(rng)))
        .collect();
    (1..=n)
        .map(|x| {
            let xs = Scalar::from(x as u64);
            // Horner's rule, from the highest coefficient down.
            let y = coefficients
                .iter()
                .rev()
                .fold(Scalar::ZERO, |acc, c| acc * xs + c);
            (x as u8, y)
        })
        .collect()
}

/// The secret from t or more distinct shares.
pub(crate) fn combine(shares: &[(u8, Scalar)]) -> Result<Scalar, VaultError> {
    let mut secret = Scalar::ZERO;
    for (j, (xj, yj)) in shares.iter().enumerate() {
        let xj = Scalar::from(u64::from(*xj));
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for (m, (xm, _)) in shares.iter().enumerate() {
            if m == j {
                continue;
            }
            let xm = Scalar::from(u64::from(*xm));
            if xm == xj {
                return Err(VaultError::malformed(
                    "escrow shares",
                    "two shares at one point",
                ));
            }
            num *= xm;
            den *= xm - xj;
        }
        secret += yj * num * den.invert();
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::rng;

    #[test]
    fn any_t_shares_give_the_secret_and_fewer_do_not() {
        let mut r = rng(60);
        let secret = random_scalar(&mut r);
        let shares = split(&secret, 3, 5, &mut r);
        assert_eq!(shares.len(), 5);
        for pick in [[0, 1, 2], [0, 2, 4], [4, 3, 1]] {
            let chosen: Vec<_> = pick.iter().map(|&i| shares[i]).collect();
            assert_eq!(combine(&chosen).unwrap(), secret);
        }
        assert_ne!(combine(&shares[..2]).unwrap(), secret);
        let mut changed = shares[..3].to_vec();
        changed[1].1 += Scalar::ONE;
        assert_ne!(combine(&changed).unwrap(), secret);
        assert!(combine(&[shares[0], shares[0]]).is_err());
        // One guardian alone (t = 1) holds the secret itself.
        assert_eq!(split(&secret, 1, 1, &mut r)[0].1, secret);
    }
}
