import FXDatabaseChassis
import FXServiceChassis

@main
enum MonitorMain: DatabaseOnlyService {
    static let role = ServiceRole.monitor

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
