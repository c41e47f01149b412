import Testing
@testable import NN

@Suite struct NNPlaceholder {}
