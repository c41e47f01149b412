import Testing
@testable import Synthesis

@Suite struct SynthesisPlaceholder {}
