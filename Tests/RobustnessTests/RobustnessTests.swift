import Testing
@testable import Robustness

@Suite struct RobustnessPlaceholder {}
