//! Property tests of the handshake's parsers.
