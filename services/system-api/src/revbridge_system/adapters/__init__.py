"""One adapter per platform, each with the same file set: client, mappers, errors, settings, types."""
