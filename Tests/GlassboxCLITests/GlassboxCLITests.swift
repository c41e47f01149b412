import Testing
@testable import GlassboxCLI

@Suite struct GlassboxCLIPlaceholder {}
