//! [`DynStore`]: the object-safe face of [`Store`], to choose a store at run time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::{Claim, Completion, Store, StoreError, StoredResponse, Token};

/// The future a [`DynStore`] operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A [`Store`] usable as `Arc<dyn DynStore>`, to pick the backend from configuration
/// with one code path.
///
/// [`Store`] returns `impl Future`, so the layer calls a concrete store without boxing,
/// but `dyn Store` cannot exist. Every store is a `DynStore` (a blanket impl boxes its
/// futures), and `Arc<dyn DynStore>` is a [`Store`] again, so it goes wherever a store
/// does:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use webhook_idempotency::IdempotencyLayer;
/// use webhook_idempotency::store::{Claim, DynStore, MemoryStore, Store, Token};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // The backend named in the configuration. With the `redis` feature, a `"redis"`
/// // arm gives `Arc::new(RedisStore::new(connection)?)`.
/// let backend = "memory";
/// let store: Arc<dyn DynStore> = match backend {
///     "memory" => Arc::new(MemoryStore::new()),
///     other => panic!("unknown store `{other}`"),
/// };
/// let layer = IdempotencyLayer::builder(store.clone()).build().unwrap();
/// # drop(layer);
///
/// let lease = Duration::from_secs(60);
/// let claim = store.claim("hopnow:evt_1", Token::generate(), lease).await;
/// assert!(matches!(claim, Ok(Claim::Acquired)));
/// # }
/// ```
///
/// The methods are prefixed `dyn_` so that a file that imports both traits can still
/// call [`Store::claim`] on a concrete store; call the [`Store`] methods, which
/// `Arc<dyn DynStore>` has too.
pub trait DynStore: Send + Sync + 'static {
    /// [`Store::claim`], boxed.
    fn dyn_claim<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        lease: Duration,
    ) -> StoreFuture<'a, Claim>;

    /// [`Store::extend`], boxed.
    fn dyn_extend<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        lease: Duration,
    ) -> StoreFuture<'a, bool>;

    /// [`Store::complete`], boxed.
    fn dyn_complete<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        response: &'a StoredResponse,
        retention: Duration,
    ) -> StoreFuture<'a, Completion>;

    /// [`Store::release`], boxed.
    fn dyn_release<'a>(&'a self, key: &'a str, token: Token) -> StoreFuture<'a, bool>;
}

impl<S: Store> DynStore for S {
    fn dyn_claim<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(self.claim(key, token, lease))
    }

    fn dyn_extend<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        lease: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.extend(key, token, lease))
    }

    fn dyn_complete<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        response: &'a StoredResponse,
        retention: Duration,
    ) -> StoreFuture<'a, Completion> {
        Box::pin(self.complete(key, token, response, retention))
    }

    fn dyn_release<'a>(&'a self, key: &'a str, token: Token) -> StoreFuture<'a, bool> {
        Box::pin(self.release(key, token))
    }
}

// `async fn`: the future borrows every argument (a boxed future names one lifetime).
impl Store for Arc<dyn DynStore> {
    async fn claim(&self, key: &str, token: Token, lease: Duration) -> Result<Claim, StoreError> {
        (**self).dyn_claim(key, token, lease).await
    }

    async fn extend(&self, key: &str, token: Token, lease: Duration) -> Result<bool, StoreError> {
        (**self).dyn_extend(key, token, lease).await
    }

    async fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        (**self).dyn_complete(key, token, response, retention).await
    }

    async fn release(&self, key: &str, token: Token) -> Result<bool, StoreError> {
        (**self).dyn_release(key, token).await
    }
}
