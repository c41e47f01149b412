import Testing
@testable import Report

@Suite struct ReportPlaceholder {}
