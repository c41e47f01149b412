import Testing
@testable import Detector

@Suite struct DetectorPlaceholder {}
