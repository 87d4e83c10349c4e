//! large_blobs tests.
