//! Table values: cells, column definitions and tables with their rows.

/// A cell value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Val {
    /// NULL.
    Null,
    /// Integer.
    Int(i32),
    /// String (shared with every other cell holding the same pool string; a thin pointer,
    /// so that a cell takes 16 bytes).
    Str(std::sync::Arc<String>),
    /// Binary stream (stored as `Table.Key` stream).
    #[serde(serialize_with = "ser_binary")]
    #[schemars(with = "String")]
    Binary,
}

fn ser_binary<S: serde::Serializer>(s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str("[binary]")
}

impl Val {
    /// A string cell.
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(std::sync::Arc::new(s.into()))
    }
    /// The string, if a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The integer, if an integer.
    pub fn as_int(&self) -> Option<i32> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// Text form (empty for NULL).
    pub fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s.to_string(),
            Val::Binary => "[binary]".into(),
        }
    }
}

/// A column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub enum ColKind {
    /// 16-bit integer.
    Int16,
    /// 32-bit integer.
    Int32,
    /// String of at most this many characters (0 = unlimited).
    Str(u32),
    /// Stream.
    Binary,
}

/// A column definition.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ColInfo {
    /// Name.
    pub name: String,
    /// Type.
    pub kind: ColKind,
    /// May be NULL.
    pub nullable: bool,
    /// Localizable string.
    pub localizable: bool,
    /// Part of the primary key.
    pub key: bool,
}

impl ColInfo {
    /// The IDT type code (`s72`, `L0`, `i2`, `V0`, ...).
    pub fn idt_type(&self) -> String {
        let (c, n) = match self.kind {
            ColKind::Int16 => ('i', 2),
            ColKind::Int32 => ('i', 4),
            ColKind::Str(n) => (if self.localizable { 'l' } else { 's' }, n),
            ColKind::Binary => ('v', 0),
        };
        let c = if self.nullable { c.to_ascii_uppercase() } else { c };
        format!("{c}{n}")
    }
}

/// A table with its rows.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TableData {
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColInfo>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Val>>,
}

impl TableData {
    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
    /// The value at `row`, column `name` (NULL if no such column).
    pub fn get<'a>(&'a self, row: &'a [Val], name: &str) -> &'a Val {
        static NULL: Val = Val::Null;
        self.col(name).and_then(|i| row.get(i)).unwrap_or(&NULL)
    }
    /// The primary key of `row` joined with `.` (as binary stream names use it).
    pub fn key_of(&self, row: &[Val]) -> String {
        self.columns.iter().zip(row).filter(|(c, _)| c.key).map(|(_, v)| v.text()).collect::<Vec<_>>().join(".")
    }
}
