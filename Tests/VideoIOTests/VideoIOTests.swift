import Testing
@testable import VideoIO

@Suite struct VideoIOPlaceholder {}
