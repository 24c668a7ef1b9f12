public enum FXSimPending {}
