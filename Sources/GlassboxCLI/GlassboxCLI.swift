import Foundation

/// Entry point of the `glassbox` command; `main.swift` only calls `GlassboxCommand.main()`.
public enum GlassboxCommand {
    public static func main() {
        FileHandle.standardError.write("glassbox: not built yet\n".data(using: .utf8)!)
        exit(70)
    }
}
