//! [`impl_resource_type!`](crate::impl_resource_type): the
//! [`ResourceType`](crate::ResourceType) impl of a serde struct, written
//! by a declarative macro (no proc-macro crate in the dependency graph).

/// Implement [`ResourceType`](crate::ResourceType) for a serde struct with
/// an id field (and, if it has one, a name field), without writing its
/// `SINGULAR`, `PLURAL`, `id()` and `name()` by hand.
///
/// ```text
/// impl_resource_type!(Type {
///     singular: "server",                  // required: ResourceType::SINGULAR
///     plural: "servers",                   // required: ResourceType::PLURAL
///     // optional, in any order:
///     id: uuid,                            // the id field (default `id`): String, Box<str>, ...
///     name: name,                          // the name field: String or Option<String> (default: none)
///     status: status,                      // the status field (ResourceType::status, the waiters'):
///                                          // String or Option<String> (default: none)
///     path: "/os-keypairs",                // PATH
///     detail_path: "/servers/detail",      // DETAIL_PATH
///     id_field: "uuid",                    // ID_FIELD (default: the id field's name)
///     wrapped: false,                      // WRAPPED
///     update: Patch,                       // UPDATE: Put or Patch
///     update_content_type: "application/openstack-images-v2.1-json-patch",
/// });
/// ```
///
/// The values are constant expressions (a `const` of yours will do); the
/// struct derives `Deserialize` itself. An unknown key is a compile error
/// that names the known ones.
///
/// ```
/// use apiclient_base::{ResourceType, UpdateVerb, impl_resource_type};
/// use serde::Deserialize;
///
/// /// A Nova server: wrapped bodies, a detailed listing.
/// #[derive(Debug, Deserialize)]
/// struct Server { id: String, name: String, status: String }
/// impl_resource_type!(Server {
///     singular: "server",
///     plural: "servers",
///     name: name,
///     status: status,
///     detail_path: "/servers/detail",
/// });
///
/// /// A Glance image: unwrapped, updated by JSON-Patch; its name is optional.
/// #[derive(Debug, Deserialize)]
/// struct Image { id: String, name: Option<String> }
/// const JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";
/// impl_resource_type!(Image {
///     singular: "image",
///     plural: "images",
///     name: name,
///     path: "/v2/images",
///     wrapped: false,
///     update: Patch,
///     update_content_type: JSON_PATCH,
/// });
///
/// /// A Placement resource provider: its id is `uuid`, bodies unwrapped.
/// #[derive(Debug, Deserialize)]
/// struct Provider { uuid: String }
/// impl_resource_type!(Provider { singular: "resource_provider", plural: "resource_providers", id: uuid, wrapped: false });
///
/// let web = Server { id: "s-1".into(), name: "web-1".into(), status: "ACTIVE".into() };
/// assert_eq!((web.id(), web.name(), web.status()), ("s-1", Some("web-1"), Some("ACTIVE")));
/// assert_eq!((Server::SINGULAR, Server::PLURAL), ("server", "servers"));
/// assert_eq!(Server::DETAIL_PATH, Some("/servers/detail"));
/// assert_eq!(Server::collection_path(), "/servers");
///
/// let unnamed = Image { id: "i-1".into(), name: None };
/// assert_eq!((unnamed.id(), unnamed.name(), unnamed.status()), ("i-1", None, None));
/// assert_eq!(Image::collection_path(), "/v2/images");
/// assert!(!Image::WRAPPED);
/// assert_eq!(Image::UPDATE, UpdateVerb::Patch);
/// assert_eq!(Image::UPDATE_CONTENT_TYPE, JSON_PATCH);
///
/// let rp = Provider { uuid: "u-1".into() };
/// assert_eq!((rp.id(), rp.name()), ("u-1", None));
/// assert_eq!(Provider::ID_FIELD, "uuid");
/// assert_eq!(Provider::UPDATE, UpdateVerb::Put);
/// ```
///
/// ```compile_fail
/// # #[derive(serde::Deserialize)] struct Server { id: String }
/// // `plural` is required
/// apiclient_base::impl_resource_type!(Server { singular: "server" });
/// ```
///
/// ```compile_fail
/// # #[derive(serde::Deserialize)] struct Server { id: String }
/// // an unknown key
/// apiclient_base::impl_resource_type!(Server { singular: "server", plural: "servers", wraped: false });
/// ```
#[macro_export]
macro_rules! impl_resource_type {
    // The end: the impl.
    (@go [$ty:ty] [$singular:expr] [$plural:expr] [$id:ident] [$($name:ident)?] [$($id_field:expr)?] [$($consts:tt)*]) => {
        impl $crate::ResourceType for $ty {
            const SINGULAR: &'static str = $singular;
            const PLURAL: &'static str = $plural;
            const ID_FIELD: &'static str =
                $crate::impl_resource_type!(@or [$($id_field)?] [::core::stringify!($id)]);
            $($consts)*
            fn id(&self) -> &str {
                ::core::convert::AsRef::<str>::as_ref(&self.$id)
            }
            $(
                fn name(&self) -> ::core::option::Option<&str> {
                    $crate::__private::NameField::name_str(&self.$name)
                }
            )?
        }
    };
    (@or [$value:expr] [$default:expr]) => { $value };
    (@or [] [$default:expr]) => { $default };

    // One key at a time.
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        id: $new:ident $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$new] [$($name)?] [$($idf)?] [$($consts)*] $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        name: $new:ident $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$new] [$($idf)?] [$($consts)*] $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        id_field: $new:expr $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$new] [$($consts)*] $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        path: $v:expr $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$($idf)?]
            [$($consts)* const PATH: ::core::option::Option<&'static str> = ::core::option::Option::Some($v);]
            $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        detail_path: $v:expr $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$($idf)?]
            [$($consts)* const DETAIL_PATH: ::core::option::Option<&'static str> = ::core::option::Option::Some($v);]
            $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        wrapped: $v:expr $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$($idf)?]
            [$($consts)* const WRAPPED: bool = $v;]
            $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        update: $verb:ident $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$($idf)?]
            [$($consts)* const UPDATE: $crate::UpdateVerb = $crate::UpdateVerb::$verb;]
            $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        update_content_type: $v:expr $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$($idf)?]
            [$($consts)* const UPDATE_CONTENT_TYPE: &'static str = $v;]
            $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        status: $field:ident $(, $($rest:tt)*)?) => {
        $crate::impl_resource_type!(@go [$ty] [$s] [$p] [$id] [$($name)?] [$($idf)?]
            [$($consts)*
                fn status(&self) -> ::core::option::Option<&str> {
                    $crate::__private::NameField::name_str(&self.$field)
                }
            ]
            $($($rest)*)?);
    };
    (@go [$ty:ty] [$s:expr] [$p:expr] [$id:ident] [$($name:ident)?] [$($idf:expr)?] [$($consts:tt)*]
        $key:ident $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "impl_resource_type!: unknown key `", ::core::stringify!($key),
            "` (the keys: id, name, status, path, detail_path, id_field, wrapped, update, update_content_type)"
        ));
    };

    // The entry.
    ($ty:ty { singular: $singular:expr, plural: $plural:expr $(, $($rest:tt)*)? }) => {
        $crate::impl_resource_type!(@go [$ty] [$singular] [$plural] [id] [] [] [] $($($rest)*)?);
    };
    ($ty:ty { $($other:tt)* }) => {
        ::core::compile_error!(
            "impl_resource_type!: `singular: \"...\", plural: \"...\"` first, then the optional keys"
        );
    };
}

/// What the name field of a type given to
/// [`impl_resource_type!`](crate::impl_resource_type) may be: a string, or
/// an optional one.
pub trait NameField {
    /// The name, if there is one.
    fn name_str(&self) -> Option<&str>;
}

impl NameField for String {
    fn name_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl NameField for Box<str> {
    fn name_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl NameField for std::borrow::Cow<'_, str> {
    fn name_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl<S: NameField> NameField for Option<S> {
    fn name_str(&self) -> Option<&str> {
        self.as_ref().and_then(NameField::name_str)
    }
}

#[cfg(test)]
mod tests {
    use crate::{ResourceInfo, ResourceType, UpdateVerb};

    #[derive(Debug, serde::Deserialize)]
    struct Keypair {
        name: Box<str>,
    }
    // the id is the name, the path not the plural
    crate::impl_resource_type!(Keypair {
        singular: "keypair",
        plural: "keypairs",
        id: name,
        name: name,
        path: "/os-keypairs",
    });

    #[derive(Debug, serde::Deserialize)]
    struct Nameless {
        id: String,
        label: Option<Option<String>>,
    }
    crate::impl_resource_type!(Nameless {
        singular: "thing",
        plural: "things",
        status: label,
    });

    #[test]
    fn keys_become_the_constants() {
        let k = Keypair {
            name: "mykey".into(),
        };
        assert_eq!((k.id(), k.name()), ("mykey", Some("mykey")));
        assert_eq!(Keypair::ID_FIELD, "name");
        let info = ResourceInfo::of::<Keypair>();
        assert_eq!(info.collection_path(), "/os-keypairs");
        assert_eq!(info.list_path(), "/os-keypairs");
        assert!(info.wrapped);

        let n = Nameless {
            id: "t".into(),
            label: None,
        };
        assert_eq!((n.id(), n.name(), n.status()), ("t", None, None));
        let labelled = Nameless {
            id: "t".into(),
            label: Some(Some("ready".into())),
        };
        assert_eq!(labelled.status(), Some("ready"));
        let info = ResourceInfo::of::<Nameless>();
        assert_eq!(info, ResourceInfo::new("thing", "things").path("/things"));
        assert_eq!(info.update, UpdateVerb::Put);
        assert_eq!(info.update_content_type, "application/json");
        assert_eq!(info.id_field, "id");
    }
}
