/// The library's version, "MAJOR.MINOR.PATCH" (the same as `mb_version()`).
public let version = "0.12.6"
