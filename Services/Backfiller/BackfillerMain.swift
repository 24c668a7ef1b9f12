import FXDatabaseChassis
import FXServiceChassis

@main
enum BackfillerMain: DatabaseOnlyService {
    static let role = ServiceRole.backfiller

    static func main() async {
        await ServiceMain.main(Self.self)
    }
}
