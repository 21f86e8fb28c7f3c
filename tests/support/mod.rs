pub mod browser;
pub mod links;
