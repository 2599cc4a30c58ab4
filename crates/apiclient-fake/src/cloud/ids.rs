//! The ids the fake services make up: random version-4 UUIDs (images,
//! volumes) and request ids. A leaf.

/// A random version-4 UUID, as Glance gives an image and Cinder a volume.
pub(super) fn uuid4() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        0x8000 | fastrand::u16(..0x4000),
        fastrand::u64(..1 << 48)
    )
}

/// An `X-OpenStack-Request-ID`: `req-` and a UUID.
pub(super) fn request_id() -> String {
    format!("req-{}", uuid4())
}
