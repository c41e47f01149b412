import Testing
@testable import Tensor

@Suite struct TensorPlaceholder {}
