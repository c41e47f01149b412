import Testing
@testable import Explain

@Suite struct ExplainPlaceholder {}
