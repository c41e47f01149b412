// swift-tools-version:6.0
import PackageDescription

/// Glassbox: a deepfake-video detector that explains itself.
/// One target per module (see docs/DESIGN.md); arrows point one way; only VideoIO sees C.
let optimized: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Glassbox",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "glassbox", targets: ["glassbox"]),
        .library(name: "GlassboxKit", targets: ["GlassboxCLI"]),
    ],
    targets: [
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg",
                       pkgConfig: "libavformat libavcodec libavutil libswscale",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev"])]),
        .target(name: "Randomness", swiftSettings: optimized),
        .target(name: "Imaging", swiftSettings: optimized),
        .target(name: "VideoIO", dependencies: ["CFFmpeg", "Imaging"], swiftSettings: optimized),
        .target(name: "Faces", dependencies: ["Imaging"], swiftSettings: optimized),
        // The numeric kernels compiled twice: for any x86-64, and for AVX2 + FMA; Tensor picks one at run time.
        .target(name: "TensorKernelsBaseline", swiftSettings: optimized),
        .target(name: "TensorKernelsAVX2",
                swiftSettings: optimized + [.define("GLASSBOX_FMA"), .unsafeFlags(["-target-cpu", "haswell"])]),
        .target(name: "Tensor", dependencies: ["Randomness", "TensorKernelsBaseline", "TensorKernelsAVX2"], swiftSettings: optimized),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: optimized),
        .target(name: "Detector", dependencies: ["NN", "Faces", "VideoIO", "Imaging", "Synthesis", "Randomness"], swiftSettings: optimized),
        .target(name: "Synthesis", dependencies: ["Imaging", "Faces", "VideoIO", "Randomness"], swiftSettings: optimized),
        .target(name: "Explain", dependencies: ["NN", "Imaging", "Randomness"], swiftSettings: optimized),
        .target(name: "Robustness", dependencies: ["Detector", "Explain", "Synthesis", "VideoIO", "Imaging", "Randomness"], swiftSettings: optimized),
        .target(name: "Report", dependencies: ["Explain", "Robustness", "Detector"]),
        .target(name: "GlassboxCLI", dependencies: ["VideoIO", "Imaging", "Faces", "Tensor", "NN", "Detector",
                                                    "Synthesis", "Explain", "Robustness", "Report"]),
        .executableTarget(name: "glassbox", dependencies: ["GlassboxCLI"]),

        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "Imaging", "Randomness"]),
        .testTarget(name: "FacesTests", dependencies: ["Faces", "Imaging"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"]),
        .testTarget(name: "DetectorTests", dependencies: ["Detector", "NN", "Tensor", "Synthesis", "VideoIO", "Imaging", "Faces", "Randomness"]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "VideoIO", "Imaging", "Randomness"]),
        .testTarget(name: "ExplainTests", dependencies: ["Explain", "NN", "Tensor", "Imaging", "Randomness"]),
        .testTarget(name: "RobustnessTests", dependencies: ["Robustness", "Randomness"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Detector", "Explain", "Robustness", "Faces", "VideoIO", "NN"]),
        .testTarget(name: "GlassboxCLITests", dependencies: ["GlassboxCLI", "VideoIO", "Imaging", "Explain", "Faces"]),
    ]
)
