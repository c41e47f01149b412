import Testing
@testable import Faces

@Suite struct FacesPlaceholder {}
