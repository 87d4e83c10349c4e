//! CTAPHID (CTAP 2.1 §11.2): 64-byte reports, channels, and the transaction state machine.
