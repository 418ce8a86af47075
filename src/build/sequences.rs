//! The standard actions every package we build carries, with the sequence numbers
//! Microsoft's "suggested sequences" give them (the same numbers WiX writes): what
//! Windows Installer (and Wine's msiexec) needs to install, advertise and make an
//! administrative image of a package of files in components.

/// (table, [(action, sequence)]).
pub const STANDARD: &[(&str, &[(&str, i32)])] = &[
    (
        "InstallExecuteSequence",
        &[
            ("ValidateProductID", 700),
            ("CostInitialize", 800),
            ("FileCost", 900),
            ("CostFinalize", 1000),
            ("InstallValidate", 1400),
            ("InstallInitialize", 1500),
            ("ProcessComponents", 1600),
            ("UnpublishFeatures", 1800),
            ("RemoveFiles", 3500),
            ("InstallFiles", 4000),
            ("RegisterUser", 6000),
            ("RegisterProduct", 6100),
            ("PublishFeatures", 6300),
            ("PublishProduct", 6400),
            ("InstallFinalize", 6600),
        ],
    ),
    (
        "InstallUISequence",
        &[
            ("ValidateProductID", 700),
            ("CostInitialize", 800),
            ("FileCost", 900),
            ("CostFinalize", 1000),
            ("ExecuteAction", 1300),
        ],
    ),
    (
        "AdminExecuteSequence",
        &[
            ("CostInitialize", 800),
            ("FileCost", 900),
            ("CostFinalize", 1000),
            ("InstallValidate", 1400),
            ("InstallInitialize", 1500),
            ("InstallAdminPackage", 3900),
            ("InstallFiles", 4000),
            ("InstallFinalize", 6600),
        ],
    ),
    ("AdminUISequence", &[("CostInitialize", 800), ("FileCost", 900), ("CostFinalize", 1000), ("ExecuteAction", 1300)]),
    (
        "AdvtExecuteSequence",
        &[
            ("CostInitialize", 800),
            ("CostFinalize", 1000),
            ("InstallValidate", 1400),
            ("InstallInitialize", 1500),
            ("PublishFeatures", 6300),
            ("PublishProduct", 6400),
            ("InstallFinalize", 6600),
        ],
    ),
];
