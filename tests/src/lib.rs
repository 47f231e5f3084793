//! Portico's end-to-end test suite lives in `tests/suite/`.
