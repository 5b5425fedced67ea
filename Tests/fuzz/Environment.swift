import Glibc

func getEnvironment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
